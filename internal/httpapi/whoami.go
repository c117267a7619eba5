package httpapi

import "net/http"

// authenticated guards a route any valid token may use, root or key.
func (s *Server) authenticated(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(w, r)
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// callerView is the answer of GET /v1/whoami.
type callerView struct {
	Root bool     `json:"root"`
	Key  *keyView `json:"key"`
}

// whoami is GET /v1/whoami: who the bearer token is, so that a tool given
// only a tenant's API key learns the tenant that every path needs.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request, c *call) error {
	v := callerView{Root: c.root}
	if c.key != nil {
		k := viewKey(c.key)
		v.Key = &k
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
