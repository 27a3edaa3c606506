package schema

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The formats follow santhosh-tekuri/jsonschema's rules and reasons, so
// that what one accepts the other does.

// validDateTime checks an RFC 3339 date-time with santhosh-tekuri/jsonschema's
// rules: the date must exist, and a leap second (:60) is allowed only at
// 23:59 UTC.
func validDateTime(s string) error {
	if len(s) < 20 {
		return errors.New("less than 20 characters long")
	}
	if s[10] != 't' && s[10] != 'T' {
		return errors.New("11th character must be t or T")
	}
	if _, err := time.Parse("2006-01-02", s[:10]); err != nil {
		return fmt.Errorf("invalid date element: %v", err)
	}
	if err := validTime(s[11:]); err != nil {
		return fmt.Errorf("invalid time element: %v", err)
	}
	return nil
}

// validTime checks hh:mm:ss[.frac](Z|±hh:mm).
func validTime(s string) error {
	if len(s) < 9 {
		return errors.New("less than 9 characters long")
	}
	if s[2] != ':' || s[5] != ':' {
		return errors.New("missing colon in correct place")
	}
	var hms [3]int
	for i := range hms {
		var err error
		if hms[i], err = strconv.Atoi(s[3*i : 3*i+2]); err != nil {
			return errors.New("invalid hour/min/sec")
		} else if hms[i] < 0 {
			return errors.New("non-positive hour/min/sec")
		}
	}
	h, m, sec := hms[0], hms[1], hms[2]
	if h > 23 || m > 59 || sec > 60 {
		return errors.New("hour/min/sec out of range")
	}
	s = s[8:]
	if frac, ok := strings.CutPrefix(s, "."); ok {
		digits := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
		if digits == 0 {
			return errors.New("no digits in second fraction")
		}
		s = frac[digits:]
	}
	if s != "z" && s != "Z" {
		if len(s) != 6 {
			return errors.New("offset must be 6 characters long")
		}
		sign := 1 // from local time back to UTC
		switch s[0] {
		case '+':
			sign = -1
		case '-':
		default:
			return errors.New("offset must begin with plus/minus")
		}
		if s[3] != ':' {
			return errors.New("missing colon in offset in correct place")
		}
		zh, err1 := strconv.Atoi(s[1:3])
		zm, err2 := strconv.Atoi(s[4:])
		switch {
		case err1 != nil || err2 != nil:
			return errors.New("invalid hour/min in offset")
		case zh < 0 || zm < 0:
			return errors.New("non-positive hour/min in offset")
		case zh > 23 || zm > 59:
			return errors.New("hour/min in offset out of range")
		}
		hm := h*60 + m + sign*(zh*60+zm) // the time in UTC
		if hm < 0 {
			hm += 24 * 60
		}
		h, m = hm/60, hm%60
	}
	if sec >= 60 && (h != 23 || m != 59) {
		return errors.New("invalid leap second")
	}
	return nil
}

// validURI checks an absolute URI as santhosh-tekuri/jsonschema does: Go's
// url.Parse accepts it, it has a scheme, and an IPv6 host is bracketed and
// has no zone.
func validURI(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if host := u.Hostname(); strings.Contains(host, ":") {
		if !strings.Contains(u.Host, "[") || !strings.Contains(u.Host, "]") {
			return errors.New("ipv6 address not enclosed in brackets")
		}
		if addr, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("invalid ipv6 address: %v", err)
		} else if addr.Zone() != "" {
			return errors.New("invalid ipv6 address: zone id is not a part of ipv6 address")
		}
	}
	if !u.IsAbs() {
		return errors.New("relative url")
	}
	return nil
}
