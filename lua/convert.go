package lua

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"

	glua "github.com/yuin/gopher-lua"
)

// maxDepth bounds the nesting of converted values (and catches cycles).
const maxDepth = 32

// toGo converts a Lua value to plain Go: nil, bool, int64 (whole numbers),
// float64, string, []any (a table whose keys are exactly 1..n, and the empty
// table) or map[string]any. Read-only views convert like the tables they
// show. Functions and other values are an error.
func (p *Pack) toGo(v glua.LValue, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d deep (a table that contains itself?)", maxDepth)
	}
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LString:
		return string(v), nil
	case glua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			return int64(f), nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %v cannot be converted", f)
		}
		return f, nil
	case *glua.LTable:
		t := p.resolve(v)
		n := t.Len()
		count := 0
		t.ForEach(func(_, _ glua.LValue) { count++ })
		if count == n {
			list := make([]any, 0, n)
			for i := 1; i <= n; i++ {
				item, err := p.toGo(t.RawGetInt(i), depth+1)
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				list = append(list, item)
			}
			return list, nil
		}
		m := make(map[string]any, count)
		var ferr error
		t.ForEach(func(k, val glua.LValue) {
			if ferr != nil {
				return
			}
			var key string
			switch k := k.(type) {
			case glua.LString:
				key = string(k)
			case glua.LNumber:
				key = k.String()
			default:
				ferr = fmt.Errorf("a %s key cannot be converted (keys are strings or numbers)", k.Type())
				return
			}
			item, err := p.toGo(val, depth+1)
			if err != nil {
				ferr = fmt.Errorf("%s: %w", key, err)
				return
			}
			m[key] = item
		})
		if ferr != nil {
			return nil, ferr
		}
		return m, nil
	default:
		return nil, fmt.Errorf("a %s cannot be converted (want strings, numbers, booleans and tables)", v.Type())
	}
}

// toLua converts a Go value to a plain (writable) Lua value: nil, bools,
// numbers, strings, slices, maps with string keys, and anything else by way
// of its JSON encoding (structs).
func (p *Pack) toLua(v any, depth int) (glua.LValue, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d deep", maxDepth)
	}
	L := p.L
	switch v := v.(type) {
	case nil:
		return glua.LNil, nil
	case glua.LValue:
		return nil, fmt.Errorf("raw Lua values cannot be passed in")
	case string:
		return glua.LString(v), nil
	case bool:
		return glua.LBool(v), nil
	case int:
		return glua.LNumber(v), nil
	case int64:
		return glua.LNumber(v), nil
	case float64:
		return glua.LNumber(v), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, err
		}
		return glua.LNumber(f), nil
	case []string:
		t := L.CreateTable(len(v), 0)
		for _, s := range v {
			t.Append(glua.LString(s))
		}
		return t, nil
	case map[string]any:
		t := L.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // insertion order is iteration order: keep it stable
		for _, k := range keys {
			lv, err := p.toLua(v[k], depth+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, item := range v {
			lv, err := p.toLua(item, depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i+1, err)
			}
			t.Append(lv)
		}
		return t, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return glua.LNumber(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return glua.LNumber(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return glua.LNumber(rv.Float()), nil
	case reflect.String:
		return glua.LString(rv.String()), nil
	case reflect.Bool:
		return glua.LBool(rv.Bool()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return glua.LNil, nil
		}
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return nil, fmt.Errorf("a %s cannot be passed to Lua", rv.Kind())
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot pass %T to Lua: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var plain any
	if err := dec.Decode(&plain); err != nil {
		return nil, err
	}
	return p.toLua(normalizeJSON(plain), depth+1)
}

func normalizeJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, x := range v {
			v[k] = normalizeJSON(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalizeJSON(x)
		}
	}
	return v
}
