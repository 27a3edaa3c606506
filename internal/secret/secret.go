// Package secret holds credentials so that they cannot leak by accident:
// every way of printing or encoding a Secret yields "<redacted>", and the
// value is revealed only by Reveal, at the one place that sends it.
package secret

import (
	"strings"

	"github.com/rs/zerolog"
)

// Redacted is what a Secret prints as.
const Redacted = "<redacted>"

// Secret is a credential. Its zero value is the empty secret.
//
// The value sits behind a pointer: fmt does not call String on a struct's
// unexported fields, so a Secret held in one would print its contents if they
// were a plain string; a pointer prints as an address.
type Secret struct {
	p *box
}

type box struct{ value string }

// New wraps a credential.
func New(value string) Secret { return Secret{p: &box{value: value}} }

// Reveal returns the credential. Call it only where the credential is sent.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return s.p.value
}

// IsZero reports whether no credential is set.
func (s Secret) IsZero() bool { return s.Reveal() == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return Redacted }

// GoString implements fmt.GoStringer, so %#v redacts too.
func (s Secret) GoString() string { return Redacted }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML, form encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalZerologObject lets a Secret be logged with Object without leaking.
func (s Secret) MarshalZerologObject(e *zerolog.Event) { e.Str("value", Redacted) }

// Scrub replaces every occurrence of the given secrets in text with
// "<redacted>". Adapters use it on error texts that echo what they were sent
// (a URL with a token in it, a remote that repeats the Authorization header).
func Scrub(text string, secrets ...Secret) string {
	for _, s := range secrets {
		if v := s.Reveal(); len(v) >= 4 {
			text = strings.ReplaceAll(text, v, Redacted)
		}
	}
	return text
}
