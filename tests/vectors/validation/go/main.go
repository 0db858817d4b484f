// Command validation-vectors reads validation vectors (a JSON array of
// {"id", "type", "message"} with the message in protobuf JSON) and prints,
// as one JSON array, each vector's violations as the Go runtime reports them:
// [{"id", "type", "violations": [{"rule_id", "field"}]}], in protovalidate's
// order. A vector that states its "violations" is checked against them too:
// the program then exits 1 after printing, naming each mismatch on stderr.
// tests/vectors/validation/README.md says how the languages are compared.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	contracts "github.com/contractsdev/contracts/runtime/go"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Registers validation.v1's types.
	_ "example.com/contracts/validation-vectors/validationpb"
)

type vector struct {
	ID         string                 `json:"id"`
	Type       string                 `json:"type"`
	Message    json.RawMessage        `json:"message"`
	Violations *[]contracts.Violation `json:"violations"` // expected, if stated
}

type result struct {
	ID         string                `json:"id"`
	Type       string                `json:"type"`
	Violations []contracts.Violation `json:"violations"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: validation-vectors VECTORS.json")
		os.Exit(2)
	}
	results, mismatches, err := run(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "validation-vectors:", err)
		os.Exit(1)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "validation-vectors:", err)
		os.Exit(1)
	}
	for _, mismatch := range mismatches {
		fmt.Fprintln(os.Stderr, "validation-vectors:", mismatch)
	}
	if len(mismatches) > 0 {
		os.Exit(1)
	}
}

func run(path string) (results []result, mismatches []string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var vectors []vector
	if err := json.Unmarshal(data, &vectors); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range vectors {
		violations, err := violationsOf(v)
		if err != nil {
			return nil, nil, fmt.Errorf("vector %s: %w", v.ID, err)
		}
		results = append(results, result{ID: v.ID, Type: v.Type, Violations: violations})
		if v.Violations != nil && !slices.Equal(*v.Violations, violations) {
			mismatches = append(mismatches, fmt.Sprintf("vector %s: got %v, want %v", v.ID, violations, *v.Violations))
		}
	}
	return results, mismatches, nil
}

// violationsOf parses the vector's message and validates it through a Topic,
// as a producer or consumer would.
func violationsOf(v vector) ([]contracts.Violation, error) {
	messageType, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(v.Type))
	if err != nil {
		return nil, err
	}
	msg := messageType.New().Interface()
	if err := protojson.Unmarshal(v.Message, msg); err != nil {
		return nil, err
	}
	topic := contracts.Topic[proto.Message]{
		Name:     "validation.vectors",
		TypeName: v.Type,
		New:      func() proto.Message { return messageType.New().Interface() },
	}
	err = topic.Validate(msg)
	var invalid *contracts.ValidationError
	switch {
	case err == nil:
		return []contracts.Violation{}, nil
	case errors.As(err, &invalid):
		return invalid.Violations, nil
	default:
		return nil, err
	}
}
