package contracts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestDLQName(t *testing.T) {
	topic := Topic[*wrapperspb.StringValue]{Name: "audit.events.v1"}
	if got := topic.DLQName(); got != "audit.events.v1.dlq" {
		t.Fatalf("DLQName() = %q", got)
	}
}

func TestMessageNameFallsBackToDescriptor(t *testing.T) {
	topic := Topic[*structpb.Struct]{Name: "s", New: func() *structpb.Struct { return new(structpb.Struct) }}
	if got := topic.MessageName(); got != "google.protobuf.Struct" {
		t.Fatalf("MessageName() = %q", got)
	}
	topic.TypeName = "given.Name"
	if got := topic.MessageName(); got != "given.Name" {
		t.Fatalf("MessageName() = %q, want the declared TypeName", got)
	}
}

func TestSpec(t *testing.T) {
	topic := Topic[*wrapperspb.StringValue]{
		Name: "t", TypeName: "google.protobuf.StringValue",
		New:      func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
		Settings: Settings{Partitions: 3, Owner: "team"},
	}
	spec := topic.Spec()
	if spec.Name != "t" || spec.TypeName != "google.protobuf.StringValue" || spec.Settings.Partitions != 3 || spec.Settings.Owner != "team" {
		t.Fatalf("Spec() = %+v", spec)
	}
}

// TestWrongMessageTypeDoesNotCompile builds testdata/typecheck: right/ must
// compile and every line of wrong/ marked WRONG must be a compile error, so
// that no change to the API lets a message reach a topic of another type.
func TestWrongMessageTypeDoesNotCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool, err := exec.LookPath("go") // go test puts its own toolchain first on PATH
	if err != nil {
		t.Skip("no go command:", err)
	}
	build := func(pkg string) (string, error) {
		cmd := exec.Command(goTool, "build", "-o", os.DevNull, "-gcflags=-e", pkg)
		cmd.Dir = filepath.Join("testdata", "typecheck")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := build("./right"); err != nil {
		t.Fatalf("the control program does not compile: %v\n%s", err, out)
	}
	out, err := build("./wrong")
	if err == nil {
		t.Fatal("a program sending, encoding, decoding and consuming the wrong type compiled")
	}
	source, readErr := os.ReadFile(filepath.Join("testdata", "typecheck", "wrong", "main.go"))
	if readErr != nil {
		t.Fatal(readErr)
	}
	for i, line := range strings.Split(string(source), "\n") {
		if strings.Contains(line, "// WRONG") && !strings.Contains(out, fmt.Sprintf("main.go:%d:", i+1)) {
			t.Errorf("line %d compiled: %s", i+1, strings.TrimSpace(line))
		}
	}
}
