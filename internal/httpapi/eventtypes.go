package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/internal/schema"
)

// eventTypeView is an event type as the API shows it.
type eventTypeView struct {
	Name        string          `json:"name"`
	TenantID    string          `json:"tenant_id"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Archived    bool            `json:"archived"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func viewEventType(et *hookd.EventType) eventTypeView {
	v := eventTypeView{Name: et.Name, TenantID: et.TenantID, Description: et.Description, Schema: et.Schema,
		Archived: et.Archived, CreatedAt: et.CreatedAt.UTC(), UpdatedAt: et.UpdatedAt.UTC()}
	if len(v.Schema) == 0 {
		v.Schema = json.RawMessage("null")
	}
	return v
}

// eventTypeReadOnly are the fields a client sees but may not write.
var eventTypeReadOnly = []string{"tenant_id", "created_at", "updated_at"}

// applyEventType writes the body's description, schema and archived onto
// et; a null resets a field (no description, no schema, not archived). In
// PUT and PATCH the name comes from the path: a name in the body must
// equal it. Errors go into o.
func applyEventType(o *obj, et *hookd.EventType, mode bodyMode) {
	if mode == modeCreate {
		if !o.str("name", &et.Name) && !o.bad["name"] {
			o.add("name", "is required")
		}
	} else {
		var name string
		if o.str("name", &name) && name != et.Name {
			o.add("name", "must equal the name in the path (an event type cannot be renamed)")
		}
	}
	if !o.str("description", &et.Description) && o.isNullField("description") {
		et.Description = ""
	}
	if raw, ok := o.get("schema"); ok {
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			et.Schema = b.Bytes()
		}
	} else if o.isNullField("schema") {
		et.Schema = nil
	}
	if !o.boolean("archived", &et.Archived) && o.isNullField("archived") {
		et.Archived = false
	}
	o.readOnly(eventTypeReadOnly...)
	o.unknown()
}

// validateEventType applies the body to et and checks the result, its
// schema compiled; one EINVALID error lists every problem.
func (s *Server) validateEventType(o *obj, et *hookd.EventType, mode bodyMode) error {
	applyEventType(o, et, mode)
	err := et.Validate()
	if len(et.Schema) > 0 && len(et.Schema) <= hookd.MaxSchemaBytes && !o.covered("schema") {
		if _, fes := schema.Compile(et.Schema, "schema"); fes != nil {
			f := hookd.Fields(fes)
			var he *hookd.Error
			if errors.As(err, &he) {
				f = append(he.Fields, f...)
			}
			err = f.Err()
		}
	}
	if err := o.mergeValidation(err); err != nil {
		return err
	}
	return o.err()
}

// eventTypeName returns the {name} of the path; a name that no event type
// can have is ENOTFOUND, as a missing one is.
func eventTypeName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !hookd.EventTypePattern.MatchString(name) {
		return "", hookd.Errorf(hookd.ENOTFOUND, "event type not found")
	}
	return name, nil
}

func (s *Server) createEventType(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := s.readObject(w, r, defaultBodyLimit, true)
	if err != nil {
		return err
	}
	et := &hookd.EventType{TenantID: c.tenant, CreatedAt: s.now()}
	if err := s.validateEventType(o, et, modeCreate); err != nil {
		return err
	}
	err = s.Store.CreateEventType(r.Context(), et)
	s.catalogs.invalidate(c.tenant)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+url.PathEscape(et.Name))
	writeJSON(w, http.StatusCreated, viewEventType(et))
	return nil
}

func (s *Server) listEventTypes(w http.ResponseWriter, r *http.Request, c *call) error {
	return listing[*hookd.EventType, eventTypeView]{
		params: []string{"include_archived"},
		filter: func(q url.Values, f *hookd.Fields) fetchPage[*hookd.EventType] {
			var filter hookd.EventTypeFilter
			if v := queryBool(q, "include_archived", f); v != nil {
				filter.IncludeArchived = *v
			}
			return func(ctx context.Context, p hookd.Page) ([]*hookd.EventType, error) {
				filter.Page = p
				return s.Store.ListEventTypes(ctx, c.tenant, filter)
			}
		},
		id:     func(et *hookd.EventType) string { return et.Name },
		view:   viewEventType,
		cursor: decodeNameCursor,
	}.serve(w, r)
}

// decodeNameCursor reads a cursor of the event type list: the base64url
// of the last name listed (see encodeCursor).
func decodeNameCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !hookd.EventTypePattern.Match(b) {
		return "", false
	}
	return string(b), true
}

func (s *Server) getEventType(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := eventTypeName(r)
	if err != nil {
		return err
	}
	et, err := s.Store.GetEventType(r.Context(), c.tenant, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEventType(et))
	return nil
}

// putEventType declares the type with the body (create's, the name in the
// path): 201 when it is new, 200 when it replaced the description, schema
// and archived flag of the type of that name. Idempotent, so that a deploy
// can declare its types every time.
func (s *Server) putEventType(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := eventTypeName(r)
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	et := &hookd.EventType{TenantID: c.tenant, Name: name}
	if err := s.validateEventType(o, et, modePut); err != nil {
		return err
	}
	defer s.catalogs.invalidate(c.tenant)
	err = s.Store.UpdateEventType(r.Context(), et)
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		et.CreatedAt = s.now()
		err = s.Store.CreateEventType(r.Context(), et)
		if err == nil {
			w.Header().Set("Location", r.URL.Path)
			writeJSON(w, http.StatusCreated, viewEventType(et))
			return nil
		}
		var he *hookd.Error
		if asError(err, &he) && he.ExistingID != "" {
			// created meanwhile by another request: replace it, as asked
			err = s.Store.UpdateEventType(r.Context(), et)
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEventType(et))
	return nil
}

func (s *Server) patchEventType(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := eventTypeName(r)
	if err != nil {
		return err
	}
	et, err := s.Store.GetEventType(r.Context(), c.tenant, name)
	if err != nil {
		return err
	}
	o, err := s.readObject(w, r, defaultBodyLimit, false)
	if err != nil {
		return err
	}
	if err := s.validateEventType(o, et, modePatch); err != nil {
		return err
	}
	err = s.Store.UpdateEventType(r.Context(), et)
	s.catalogs.invalidate(c.tenant)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEventType(et))
	return nil
}

// deleteEventType archives the type, or with expunge=true removes it for
// good (Svix's semantics): an archived type stays in the catalogue, so
// that it may not be published; an expunged one is gone, and when it was
// the last the tenant's types are free again.
func (s *Server) deleteEventType(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := eventTypeName(r)
	if err != nil {
		return err
	}
	var f hookd.Fields
	q, err := query(r, &f)
	if err != nil {
		return err
	}
	expunge := queryBool(q, "expunge", &f)
	if err := f.Err(); err != nil {
		return err
	}
	defer s.catalogs.invalidate(c.tenant)
	if expunge != nil && *expunge {
		err = s.Store.DeleteEventType(r.Context(), c.tenant, name)
	} else {
		var et *hookd.EventType
		et, err = s.Store.GetEventType(r.Context(), c.tenant, name)
		if err == nil && !et.Archived {
			et.Archived = true
			err = s.Store.UpdateEventType(r.Context(), et)
		}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
