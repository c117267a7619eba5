package delivery

import "crypto/x509"

// TrustRoots makes s verify TLS receivers against roots instead of the
// system's, for tests with an httptest TLS server.
func TrustRoots(s *Sender, roots *x509.CertPool) {
	s.client.tls.RootCAs = roots
}

// RequestTarget is requestTarget, for TestRequestTarget.
var RequestTarget = requestTarget
