package secret_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/release-bot/release-bot/internal/secret"
)

func TestSecretNeverPrints(t *testing.T) {
	const token = "xoxb-very-secret-token"
	s := secret.New(token)
	type holder struct {
		Token secret.Secret
	}
	type private struct {
		token secret.Secret
		n     int
	}
	h := holder{Token: s}
	p := private{token: s, n: 1}
	var outputs []string
	outputs = append(outputs, fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, h, h, s, s))
	// fmt does not call String on unexported fields: the value must not show there either.
	for _, out := range []string{fmt.Sprintf("%v", p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%v", &p)} {
		if bytes.Contains([]byte(out), []byte(token)) {
			t.Errorf("token leaked through an unexported field: %q", out)
		}
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(b))
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Interface("h", h).Stringer("s", s).Object("o", s).Msg("x")
	outputs = append(outputs, buf.String())
	for _, out := range outputs {
		if bytes.Contains([]byte(out), []byte(token)) {
			t.Errorf("token leaked in %q", out)
		}
		if !bytes.Contains([]byte(out), []byte("redacted")) {
			t.Errorf("no redaction marker in %q", out)
		}
	}
	if s.Reveal() != token {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

func TestScrub(t *testing.T) {
	s := secret.New("abcd1234")
	got := secret.Scrub("GET https://x/?token=abcd1234 failed: abcd1234", s, secret.New(""))
	want := "GET https://x/?token=<redacted> failed: <redacted>"
	if got != want {
		t.Errorf("Scrub = %q, want %q", got, want)
	}
}
