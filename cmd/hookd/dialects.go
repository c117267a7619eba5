package main

import (
	"net/http"

	"github.com/hookd/hookd/internal/dialect"
	"github.com/hookd/hookd/internal/dialect/device"
	"github.com/hookd/hookd/internal/dialect/enterprise"
	"github.com/hookd/hookd/internal/dialect/facility"
	"github.com/hookd/hookd/internal/dialect/property"
)

// dialects makes each dialect of --dialects (dialect.Names).
var dialects = map[string]func(dialect.Env) dialect.API{
	"property":   func(e dialect.Env) dialect.API { return property.New(e) },
	"facility":   func(e dialect.Env) dialect.API { return facility.New(e) },
	"device":     func(e dialect.Env) dialect.API { return device.New(e) },
	"enterprise": func(e dialect.Env) dialect.API { return enterprise.New(e) },
}

// dialectMounts returns the paths of the named dialects and their
// handlers, for httpapi.Server.Mounts: a dialect that is off has none, so
// its paths answer the native 404.
func dialectMounts(names []string, env dialect.Env) map[string]http.Handler {
	m := map[string]http.Handler{}
	for _, n := range names {
		for p, h := range dialects[n](env).Mounts() {
			m[p] = h
		}
	}
	return m
}
