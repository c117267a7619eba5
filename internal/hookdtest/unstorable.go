package hookdtest

import (
	"bytes"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// Unstorable returns the path (below path) of the first string or byte
// slice in v that a store could not keep: not UTF-8, or holding NUL,
// which PostgreSQL's TEXT refuses; "" when there is none. Fuzz targets
// use it to tell a refusal hookd owes from one it may give.
func Unstorable(v any, path string) string { return unstorable(reflect.ValueOf(v), path) }

func unstorable(v reflect.Value, path string) string {
	bad := func(b []byte) bool { return !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 }
	switch v.Kind() {
	case reflect.String:
		if bad([]byte(v.String())) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return unstorable(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				if p := unstorable(v.Field(i), path+"."+f.Name); p != "" {
					return p
				}
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if bad(v.Bytes()) {
				return path
			}
			return ""
		}
		for i := range v.Len() {
			if p := unstorable(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if p := unstorable(it.Key(), path+" key"); p != "" {
				return p
			}
			if p := unstorable(it.Value(), fmt.Sprintf("%s[%q]", path, it.Key())); p != "" {
				return p
			}
		}
	}
	return ""
}
