// Package hookd is the domain of the hookd webhook delivery service: plain
// types for tenants, API keys, webhooks, events, messages and attempts, their
// validation and matching rules, error codes, and the Store interface that
// every storage adapter implements. It imports nothing else of this module.
package hookd

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// Version is reported in the user-agent of every delivery and by the API.
var Version = "0.1.0"

// ID prefixes, one per resource type.
const (
	PrefixWebhook = "wh"
	PrefixEvent   = "evt"
	PrefixMessage = "msg"
	PrefixAttempt = "att"
	PrefixKey     = "key"
	PrefixTenant  = "ten"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var idGen struct {
	sync.Mutex
	lastMS uint64
	seq    [10]byte
}

// NewID returns prefix + "_" + a 26 character sortable suffix: 48 bits of
// Unix milliseconds followed by 80 bits that are random for the first ID of a
// millisecond and incremented for the next ones, so IDs made by one process
// sort in the order they were made (ULID's monotonic scheme, lower-case).
func NewID(prefix string) string {
	idGen.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms <= idGen.lastMS {
		ms = idGen.lastMS
		// increment the 80-bit tail; an overflow in one millisecond is
		// practically impossible (2^80 IDs), carry into the timestamp if so.
		for i := len(idGen.seq) - 1; i >= 0; i-- {
			idGen.seq[i]++
			if idGen.seq[i] != 0 {
				break
			}
			if i == 0 {
				ms++
			}
		}
	} else {
		if _, err := rand.Read(idGen.seq[:]); err != nil {
			panic("hookd: crypto/rand failed: " + err.Error())
		}
		idGen.seq[0] &= 0x7f // leave room to increment without carrying
	}
	idGen.lastMS = ms
	var b [16]byte
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	copy(b[6:], idGen.seq[:])
	idGen.Unlock()
	return prefix + "_" + encodeBase32(b)
}

// encodeBase32 encodes 128 bits as 26 Crockford base32 characters.
func encodeBase32(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Ptr returns a pointer to v; handy for optional fields.
func Ptr[T any](v T) *T { return &v }
