package main

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldDump lists every populated field of msg as (path, value), sorted by
// path, in the format of tests/vectors/README.md ("Field dump").
func fieldDump(msg proto.Message) [][2]string {
	out := [][2]string{} // [] rather than null in the vector file
	dumpMessage(msg.ProtoReflect(), "", &out)
	slices.SortFunc(out, func(a, b [2]string) int {
		if a[0] < b[0] {
			return -1
		}
		if a[0] > b[0] {
			return 1
		}
		return 0
	})
	return out
}

func dumpMessage(m protoreflect.Message, prefix string, out *[][2]string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := prefix + string(fd.Name())
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, item protoreflect.Value) bool {
				dumpValue(fd.MapValue(), item, path+"{"+scalar(fd.MapKey(), k.Value())+"}", out)
				return true
			})
		case fd.IsList():
			list := v.List()
			for i := range list.Len() {
				dumpValue(fd, list.Get(i), fmt.Sprintf("%s[%d]", path, i), out)
			}
		default:
			dumpValue(fd, v, path, out)
		}
		return true
	})
}

func dumpValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, out *[][2]string) {
	if fd.Message() != nil {
		*out = append(*out, [2]string{path, "{}"})
		dumpMessage(v.Message(), path+".", out)
		return
	}
	*out = append(*out, [2]string{path, scalar(fd, v)})
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return "0x" + hex.EncodeToString(v.Bytes())
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.FloatKind:
		return fmt.Sprintf("f32:%08x", math.Float32bits(float32(v.Float())))
	case protoreflect.DoubleKind:
		return fmt.Sprintf("f64:%016x", math.Float64bits(v.Float()))
	case protoreflect.EnumKind:
		return strconv.FormatInt(int64(v.Enum()), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10)
	default: // the signed integer kinds
		return strconv.FormatInt(v.Int(), 10)
	}
}
