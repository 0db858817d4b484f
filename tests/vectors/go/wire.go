package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

type wireRecord struct {
	number int
	raw    []byte
}

// wireRecords splits an encoded message into its top-level records; nil, false
// when it does not parse.
func wireRecords(data []byte) ([]wireRecord, bool) {
	var records []wireRecord
	for position := 0; position < len(data); {
		number, wireType, n := protowire.ConsumeTag(data[position:])
		if n < 0 {
			return nil, false
		}
		m := protowire.ConsumeFieldValue(number, wireType, data[position+n:])
		if m < 0 || wireType == protowire.StartGroupType {
			return nil, false
		}
		records = append(records, wireRecord{int(number), data[position : position+n+m]})
		position += n + m
	}
	return records, true
}

func explainDifference(expected, actual []byte, offset int) string {
	writer, okWriter := wireRecords(expected)
	reader, okReader := wireRecords(actual)
	if !okWriter || !okReader {
		start := max(0, offset-8)
		window := func(b []byte) string { return hex.EncodeToString(b[min(start, len(b)):min(offset+16, len(b))]) }
		return fmt.Sprintf("writer ...%s..., reader ...%s...", window(expected), window(actual))
	}
	if sameMultiset(writer, reader) {
		writerNumbers, readerNumbers := numbers(writer), numbers(reader)
		if !slices.Equal(writerNumbers, readerNumbers) {
			return fmt.Sprintf("same top-level fields in another order: writer %s, reader %s",
				fieldOrder(writerNumbers), fieldOrder(readerNumbers))
		}
		var moved []int
		for i := range writer {
			if !bytes.Equal(writer[i].raw, reader[i].raw) && !slices.Contains(moved, writer[i].number) {
				moved = append(moved, writer[i].number)
			}
		}
		slices.Sort(moved)
		parts := make([]string, 0, len(moved))
		for _, number := range moved {
			parts = append(parts, fmt.Sprintf("field %d has the same entries in another order", number))
		}
		return strings.Join(parts, "; ")
	}
	all := append(numbers(writer), numbers(reader)...)
	slices.Sort(all)
	var parts []string
	for _, number := range slices.Compact(all) {
		ours, theirs := joined(writer, number), joined(reader, number)
		if !bytes.Equal(ours, theirs) {
			parts = append(parts, fmt.Sprintf("field %d: writer %s, reader %s", number, shortHex(ours), shortHex(theirs)))
		}
	}
	return strings.Join(parts, "; ")
}

func sameMultiset(a, b []wireRecord) bool {
	key := func(records []wireRecord) []string {
		out := make([]string, 0, len(records))
		for _, r := range records {
			out = append(out, strconv.Itoa(r.number)+":"+string(r.raw))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func numbers(records []wireRecord) []int {
	out := make([]int, 0, len(records))
	for _, r := range records {
		out = append(out, r.number)
	}
	return out
}

func joined(records []wireRecord, number int) []byte {
	var out []byte
	for _, r := range records {
		if r.number == number {
			out = append(out, r.raw...)
		}
	}
	return out
}

// fieldOrder prints field numbers in wire order with runs shortened: [1 4*25 5].
func fieldOrder(numbers []int) string {
	var parts []string
	for i := 0; i < len(numbers); {
		j := i
		for j < len(numbers) && numbers[j] == numbers[i] {
			j++
		}
		if j-i == 1 {
			parts = append(parts, strconv.Itoa(numbers[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d*%d", numbers[i], j-i))
		}
		i = j
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func shortHex(data []byte) string {
	text := hex.EncodeToString(data)
	switch {
	case text == "":
		return "(absent)"
	case len(text) > 64:
		return text[:64] + "..."
	}
	return text
}

// nanAsOne replaces every NaN in a field dump by "nan".
func nanAsOne(fields [][2]string) [][2]string {
	out := make([][2]string, 0, len(fields))
	for _, f := range fields {
		if isNaN(f[1]) {
			f[1] = "nan"
		}
		out = append(out, f)
	}
	return out
}

func isNaN(value string) bool {
	switch {
	case strings.HasPrefix(value, "f32:"):
		bits, err := strconv.ParseUint(value[4:], 16, 32)
		return err == nil && math.IsNaN(float64(math.Float32frombits(uint32(bits))))
	case strings.HasPrefix(value, "f64:"):
		bits, err := strconv.ParseUint(value[4:], 16, 64)
		return err == nil && math.IsNaN(math.Float64frombits(bits))
	}
	return false
}
