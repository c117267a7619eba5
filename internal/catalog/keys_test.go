package catalog_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/catalog"
)

// renderedDirs are the packages (relative to this one) whose texts reach
// clients through the catalogue. A package that renders its messages
// through it joins the list, so that its keys are checked too.
var renderedDirs = []string{"../..", "../httpapi", "../access", "../sqlstore", "../sqlite", "../postgres", "../netguard", "../delivery", "../ui",
	"../dialect", "../dialect/property", "../dialect/enterprise"}

// codeKeys is what the scan of renderedDirs found.
type codeKeys struct {
	keys     map[string]string // key → where it is used first
	literals map[string]bool   // every string literal
	problems []string          // messages built in a way that has no key
}

// scanKeys parses the non-test Go files of renderedDirs and collects the
// catalogue keys their code uses: the template of every hookd.Errorf,
// hookd.NewMsg and Fields.Add (and httpapi's obj.add) with a literal
// template, the text of every hookd.Text of a literal, the title of every
// problemError literal, the titles of the codes, and the reasons that
// netguard and hookd.CheckHost return as strings (textFuncs, netguard's
// msg constants), which reach a client through hookd.Text.
func scanKeys(t *testing.T) codeKeys {
	t.Helper()
	ck := codeKeys{keys: map[string]string{}, literals: map[string]bool{}}
	fset := token.NewFileSet()
	for _, dir := range renderedDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			scanFile(fset, f, filepath.Base(path), &ck)
		}
	}
	return ck
}

func literal(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func scanFile(fset *token.FileSet, f *ast.File, base string, ck *codeKeys) {
	pkg := f.Name.Name
	add := func(key string, at token.Pos) {
		if _, ok := ck.keys[key]; !ok {
			ck.keys[key] = fset.Position(at).String()
		}
	}
	var fn string // the function being walked
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			fn = n.Name.Name
		case *ast.ValueSpec:
			// netguard's reasons kept in constants.
			if pkg == "netguard" && strings.HasPrefix(n.Names[0].Name, "msg") && len(n.Values) == 1 {
				if s, ok := literal(n.Values[0]); ok {
					add(strings.ReplaceAll(s, "%", "%%"), n.Pos())
				}
			}
			// Texts that are values: the problem titles of the codes and
			// the message of internal errors.
			switch n.Names[0].Name {
			case "codeProblems", "InternalErrorMessage":
				ast.Inspect(n, func(n ast.Node) bool {
					if c, ok := n.(*ast.CompositeLit); ok && len(c.Elts) == 3 {
						if s, ok := literal(c.Elts[2]); ok {
							add(s, c.Pos())
						}
					}
					if v, ok := n.(*ast.ValueSpec); ok && len(v.Values) == 1 {
						if s, ok := literal(v.Values[0]); ok {
							add(s, v.Pos())
						}
					}
					return true
				})
			}
		case *ast.BasicLit:
			if s, ok := literal(n); ok {
				ck.literals[s] = true
			}
		case *ast.ReturnStmt:
			if slices.Contains(textFuncs[pkg], fn) && len(n.Results) == 1 {
				if s, ok := literal(n.Results[0]); ok && s != "" {
					add(strings.ReplaceAll(s, "%", "%%"), n.Pos())
				}
			}
		case *ast.CompositeLit:
			for _, el := range n.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				name, _ := kv.Key.(*ast.Ident)
				switch {
				case name == nil:
				case name.Name == "title" && pkg == "httpapi":
					if s, ok := literal(kv.Value); ok {
						add(s, kv.Pos())
					}
				case name.Name == "Message" && isDomainType(n.Type, "Error", "FieldError") && !(pkg == "hookd" && base == "error.go"):
					ck.problems = append(ck.problems, fset.Position(kv.Pos()).String()+
						": a hookd.Error or FieldError made with a Message: use Errorf or Fields.Add, which keep its key")
				}
			}
		case *ast.CallExpr:
			var name string
			switch fun := n.Fun.(type) {
			case *ast.SelectorExpr:
				name = fun.Sel.Name
				if x, ok := fun.X.(*ast.Ident); (name == "Errorf" || name == "NewMsg") && (!ok || x.Name != "hookd") {
					return true // fmt.Errorf, t.Errorf, …
				}
			case *ast.Ident:
				name = fun.Name
				if (name == "Errorf" || name == "NewMsg") && pkg != "hookd" {
					return true
				}
			}
			if x, ok := n.Fun.(*ast.SelectorExpr); name == "Text" && len(n.Args) == 1 && (pkg == "hookd" || ok && isIdent(x.X, "hookd")) {
				if s, ok := literal(n.Args[0]); ok {
					add(strings.ReplaceAll(s, "%", "%%"), n.Pos())
				}
				return true
			}
			i, ok := map[string]int{"Errorf": 1, "NewMsg": 0, "Add": 1, "add": 1}[name]
			if !ok || len(n.Args) <= i {
				return true
			}
			if s, ok := literal(n.Args[i]); ok {
				add(s, n.Pos())
			} else if id, ok := n.Args[i].(*ast.Ident); (name == "Errorf" || name == "NewMsg") && !(ok && (id.Name == "format" || id.Name == "key")) {
				ck.problems = append(ck.problems, fset.Position(n.Pos()).String()+
					": "+name+" with a template that is not a literal: the catalogue cannot know its key")
			}
		}
		return true
	})
}

// textFuncs are the functions, by package, whose returned strings are
// reasons that reach a client as they are: hookd.Text makes them keys.
var textFuncs = map[string][]string{
	"netguard": {"CheckTarget", "refuse"},
	"hookd":    {"CheckHost"},
	"sqlite":   {"unavailable"}, // why the database cannot serve a call
	"postgres": {"unavailable"},
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// isDomainType reports whether e names hookd.<one of names> (or <name>
// inside package hookd).
func isDomainType(e ast.Expr, names ...string) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		return ok && x.Name == "hookd" && slices.Contains(names, e.Sel.Name)
	case *ast.Ident:
		return slices.Contains(names, e.Name)
	}
	return false
}

// Every key the code uses has a German text, and every message is built
// so that it has a key.
func TestEveryKeyInTheCodeHasGerman(t *testing.T) {
	t.Parallel()
	ck := scanKeys(t)
	if len(ck.keys) < 100 {
		t.Fatalf("the scan found only %d keys: is it still looking in the right places?", len(ck.keys))
	}
	var missing []string
	for key, at := range ck.keys {
		if _, ok := catalog.Template(catalog.German, key); !ok {
			missing = append(missing, at+": "+strconv.Quote(key))
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("no German text for %s", m)
	}
	for _, p := range ck.problems {
		t.Error(p)
	}
}

// Every German text belongs to a key some code still uses (a reworded
// English text leaves its old key behind).
func TestNoStaleKeys(t *testing.T) {
	t.Parallel()
	ck := scanKeys(t)
	for _, key := range catalog.Keys() {
		if _, ok := ck.keys[key]; !ok && !ck.literals[key] {
			t.Errorf("German text for %q, which no code of %v uses", key, renderedDirs)
		}
	}
}
