package backend

import (
	"bytes"
	"reflect"

	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// positions maps the keys of table constructors in config.lua to their
// lines, so a problem found after evaluation (an unknown key, a wrong type)
// can still name file:line. Each key is recorded with the keys of the
// constructors it is nested in ("backends", "ollama", "modle").
type positions struct {
	entries []posEntry
}

type posEntry struct {
	path []string
	line int
}

// fieldPositions parses src (already known to compile) and collects the
// key positions; on any trouble it returns an empty set (lines become 0).
func fieldPositions(name string, src []byte) *positions {
	p := &positions{}
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return p
	}
	p.walk(reflect.ValueOf(chunk), nil)
	return p
}

var tableExprType = reflect.TypeOf((*ast.TableExpr)(nil))

func (p *positions) walk(v reflect.Value, prefix []string) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return
		}
		if v.Kind() == reflect.Pointer && v.Type() == tableExprType {
			p.table(v.Interface().(*ast.TableExpr), prefix)
			return
		}
		p.walk(v.Elem(), nil)
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			p.walk(v.Index(i), nil)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				p.walk(v.Field(i), nil)
			}
		}
	}
}

func (p *positions) table(t *ast.TableExpr, prefix []string) {
	for _, f := range t.Fields {
		if f == nil {
			continue
		}
		if k, ok := f.Key.(*ast.StringExpr); ok {
			path := append(append([]string{}, prefix...), k.Value)
			p.entries = append(p.entries, posEntry{path: path, line: k.Line()})
			p.walk(reflect.ValueOf(f.Value), path)
			continue
		}
		p.walk(reflect.ValueOf(f.Key), nil)
		p.walk(reflect.ValueOf(f.Value), nil)
	}
}

// line finds the line of a key path: the entry sharing the longest suffix
// with it (tables built through locals lose their outer keys), 0 if the
// last key appears nowhere.
func (p *positions) line(path []string) int {
	if p == nil || len(path) == 0 {
		return 0
	}
	best, bestN := 0, 0
	for _, e := range p.entries {
		n := 0
		for n < len(e.path) && n < len(path) && e.path[len(e.path)-1-n] == path[len(path)-1-n] {
			n++
		}
		if n > bestN {
			best, bestN = e.line, n
		}
	}
	return best
}
