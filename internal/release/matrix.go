package release

import (
	"io"
	"unicode/utf8"
)

// MatrixKeys are the 19 keys of one promotion in cyber-dojo's promotion list,
// in the order its script prints them. Workflows index `matrix.<key>`.
var MatrixKeys = [19]string{
	"incoming_snapshot_id", "incoming_snapshot_url", "incoming_image_name", "incoming_fingerprint",
	"incoming_repo_url", "incoming_repo_name", "incoming_commit_sha", "incoming_flow", "incoming_ci",
	"incoming_raw_snyk_policy_url",
	"outgoing_image_name", "outgoing_fingerprint", "outgoing_repo_url", "outgoing_repo_name",
	"outgoing_commit_sha", "outgoing_flow", "outgoing_ci", "outgoing_raw_snyk_policy_url",
	"deployment_diff_url",
}

// The two values of MatrixKeys that are .snyk policy URLs.
const snykIn, snykOut = 9, 17

// matrixValues is one promotion as the 19 values of MatrixKeys, except the
// two .snyk policy URLs: they are left empty and given in pieces instead,
// for the encoder to write without building them (Commit.rawSnykPolicyParts).
func (p *Promotion) matrixValues() (v [19]string, snyk [2][5]string) {
	in := &p.Incoming
	v = [19]string{
		in.SnapshotID, in.SnapshotURL, in.ImageName, in.Fingerprint,
		in.Commit.RepoURL, in.Commit.RepoName, in.Commit.SHA, in.Flow, string(in.Commit.Forge),
	}
	snyk[0] = in.Commit.rawSnykPolicyParts()
	if o := p.Outgoing; o != nil {
		v[10], v[11], v[12], v[13] = o.ImageName, o.Fingerprint, o.Commit.RepoURL, o.Commit.RepoName
		v[14], v[15], v[16] = o.Commit.SHA, o.Flow, string(o.Commit.Forge)
		snyk[1] = o.Commit.rawSnykPolicyParts()
	}
	v[18] = p.DiffURL
	return v, snyk
}

// AppendMatrix appends the promotions as cyber-dojo's list of 19-key objects.
// indent=true prints it exactly as Python's json.dumps(indent=2) does (ASCII
// only, "\uXXXX" escapes), which is what `bot plan --output matrix` must match
// byte for byte; indent=false is the compact form for a workflow input.
func AppendMatrix(b []byte, promotions []Promotion, indent bool) []byte {
	if len(promotions) == 0 {
		return append(b, "[]"...)
	}
	if indent {
		b = append(b, "[\n  "...)
	} else {
		b = append(b, '[')
	}
	for i := range promotions {
		if i > 0 {
			if indent {
				b = append(b, ",\n  "...)
			} else {
				b = append(b, ',')
			}
		}
		b = appendMatrixItem(b, &promotions[i], indent)
	}
	if indent {
		return append(b, "\n]"...)
	}
	return append(b, ']')
}

// appendMatrixItem appends one promotion as a 19-key object.
func appendMatrixItem(b []byte, p *Promotion, indent bool) []byte {
	sep, kv, open, close := ",", ":", "{", "}"
	if indent {
		sep, kv, open, close = ",\n    ", ": ", "{\n    ", "\n  }"
	}
	b = append(b, open...)
	vals, snyk := p.matrixValues()
	for k, key := range MatrixKeys {
		if k > 0 {
			b = append(b, sep...)
		}
		b = append(b, '"') // the keys need no escaping
		b = append(b, key...)
		b = append(b, '"')
		b = append(b, kv...)
		switch k {
		case snykIn:
			b = appendPyString(b, snyk[0][:]...)
		case snykOut:
			b = appendPyString(b, snyk[1][:]...)
		default:
			b = appendPyString(b, vals[k])
		}
	}
	return append(b, close...)
}

// WriteMatrix writes what AppendMatrix(nil, promotions, true) returns, and a
// newline, in pieces through one small buffer: a 5,000-service list is
// megabytes, and touching that much fresh memory costs more than writing it.
func WriteMatrix(w io.Writer, promotions []Promotion) error {
	buf := make([]byte, 0, 64<<10)
	if len(promotions) == 0 {
		_, err := w.Write(append(buf, "[]\n"...))
		return err
	}
	buf = append(buf, "[\n  "...)
	for i := range promotions {
		if i > 0 {
			buf = append(buf, ",\n  "...)
		}
		buf = appendMatrixItem(buf, &promotions[i], true)
		if len(buf) > cap(buf)-8<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(append(buf, "\n]\n"...))
	return err
}

const hexDigits = "0123456789abcdef"

// appendPyString quotes the concatenation of parts as Python's json.dumps
// does with ensure_ascii=True: printable ASCII as is, the usual short
// escapes, everything else as \uXXXX (UTF-16 surrogate pairs above U+FFFF;
// invalid UTF-8 as U+FFFD). Parts must split the text only where a
// character starts.
func appendPyString(b []byte, parts ...string) []byte {
	b = append(b, '"')
	for _, s := range parts {
		b = appendPyChars(b, s)
	}
	return append(b, '"')
}

// appendPyChars appends s escaped, without quotes.
func appendPyChars(b []byte, s string) []byte {
	start, i := 0, 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				b = append(b, `\"`...)
			case '\\':
				b = append(b, `\\`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			default:
				b = appendU16(b, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xffff {
			r -= 0x10000
			b = appendU16(b, 0xd800+(r>>10)&0x3ff)
			b = appendU16(b, 0xdc00+r&0x3ff)
		} else {
			b = appendU16(b, r)
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

func appendU16(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
