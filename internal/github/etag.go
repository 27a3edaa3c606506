package github

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Bounds of the ETag cache: enough for the runs, job pages and run lists a
// few releases are followed through, and no answer kept that is larger than
// the largest job page (100 jobs with their steps).
const (
	cacheEntries = 256
	cacheMaxBody = 4 << 20
)

// conditional is the transport under the credentials: every GET it has an
// answer with an ETag for is sent with If-None-Match, and a 304 is turned
// back into that answer, so go-github never sees a 304 (it would make it an
// error). Entries are per credential as well as per URL, because GitHub's
// ETags differ per credential and an answer must not cross credentials.
// It also counts what was sent.
type conditional struct {
	next http.RoundTripper

	mu      sync.Mutex
	entries map[string]*list.Element
	order   *list.List // most recently used at the front
	counts  Stats
}

type cached struct {
	key    string
	etag   string
	header http.Header
	body   []byte
}

func newConditional(next http.RoundTripper) *conditional {
	return &conditional{next: next, entries: map[string]*list.Element{}, order: list.New()}
}

func (t *conditional) stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.counts
}

// RoundTrip implements http.RoundTripper.
func (t *conditional) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Header.Get("If-None-Match") != "" {
		t.count(false)
		return t.next.RoundTrip(req)
	}
	key := cacheKey(req)
	entry := t.lookup(key)
	if entry != nil {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", entry.etag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		t.count(false)
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified && entry != nil {
		t.count(true)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
		return entry.response(req, resp), nil
	}
	t.count(false)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		if resp.StatusCode == http.StatusOK {
			t.forget(key)
		}
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, cacheMaxBody+1))
	if err != nil {
		_ = resp.Body.Close()
		return nil, err
	}
	if len(body) > cacheMaxBody {
		// Too large to keep: hand it on whole, unread part included.
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		t.forget(key)
		return resp, nil
	}
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.store(&cached{key: key, etag: etag, header: resp.Header.Clone(), body: body})
	return resp, nil
}

// cacheKey is the URL behind a digest of the credential: the credential
// itself is never kept.
func cacheKey(req *http.Request) string {
	sum := sha256.Sum256([]byte(req.Header.Get("Authorization")))
	return hex.EncodeToString(sum[:8]) + " " + req.URL.String()
}

func (t *conditional) count(revalidated bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if revalidated {
		t.counts.NotModified++
	} else {
		t.counts.Requests++
	}
}

func (t *conditional) lookup(key string) *cached {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.entries[key]
	if !ok {
		return nil
	}
	t.order.MoveToFront(el)
	return el.Value.(*cached)
}

func (t *conditional) store(c *cached) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.entries[c.key]; ok {
		el.Value = c
		t.order.MoveToFront(el)
		return
	}
	t.entries[c.key] = t.order.PushFront(c)
	for t.order.Len() > cacheEntries {
		oldest := t.order.Back()
		t.order.Remove(oldest)
		delete(t.entries, oldest.Value.(*cached).key)
	}
}

func (t *conditional) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.entries[key]; ok {
		t.order.Remove(el)
		delete(t.entries, key)
	}
}

// response rebuilds the cached 200 for a 304, with the 304's fresh headers
// (rate limit, date) over the cached ones.
func (c *cached) response(req *http.Request, fresh *http.Response) *http.Response {
	h := c.header.Clone()
	for k, v := range fresh.Header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(c.body)))
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         fresh.Proto,
		ProtoMajor:    fresh.ProtoMajor,
		ProtoMinor:    fresh.ProtoMinor,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       req,
	}
}
