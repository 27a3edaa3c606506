package kositest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/release-bot/release-bot/internal/kosli/kositest"
)

func send(t *testing.T, method, url, bearer string, body io.Reader, ctype string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestAuthAndOrg(t *testing.T) {
	srv := kositest.Start(t, org, token)
	srv.SetEnvironment("prod", nil)
	for _, c := range []struct {
		name, path, bearer string
		status             int
		message            string
	}{
		{"no token", "/api/v2/environments/cyber-dojo", "", 401, "Invalid or missing API token"},
		{"wrong token", "/api/v2/environments/cyber-dojo", "nope", 401, "Invalid or missing API token"},
		{"other org", "/api/v2/environments/acme", token, 403, "You do not have access to organization 'acme'"},
		{"unknown env", "/api/v2/environments/cyber-dojo/staging", token, 404, "Environment named 'staging' does not exist for organization 'cyber-dojo'"},
		{"unknown route", "/api/v2/nothing/cyber-dojo", token, 404, "Not Found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, m := send(t, http.MethodGet, srv.URL()+c.path, c.bearer, nil, "")
			if status != c.status || m["message"] != c.message {
				t.Errorf("got %d %v, want %d %q", status, m, c.status, c.message)
			}
		})
	}
	reqs := srv.Requests()
	if len(reqs) != 5 || reqs[0].Authorized || reqs[1].Authorized || !reqs[2].Authorized || reqs[3].Route != kositest.RouteEnvironments {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestScriptsAreConsumedInOrderPerRoute(t *testing.T) {
	srv := kositest.Start(t, org, token)
	srv.SetEnvironment("prod", nil)
	srv.FailNext(kositest.RouteEnvironments, 2, 503)
	srv.Script(kositest.AnyRoute, kositest.Response{Status: 429, Body: `{"message": "any"}`})
	srv.Script(kositest.RouteEnvironments, kositest.Response{Status: 418, Body: "teapot"})

	var got []int
	for range 5 {
		status, _ := send(t, http.MethodGet, srv.URL()+"/api/v2/environments/cyber-dojo", token, nil, "")
		got = append(got, status)
	}
	want := []int{503, 503, 418, 429, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if srv.Pending(kositest.RouteEnvironments) != 0 || srv.Pending(kositest.AnyRoute) != 0 {
		t.Error("scripts left over")
	}
}

func multipartJSON(t *testing.T, data string) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("data_json", data); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

func TestWritesAreValidatedLikeKosli(t *testing.T) {
	mux := http.NewServeMux()
	srv := kositest.New(org, token)
	srv.Mount(mux, "/k") // as `bot sandbox` serves it
	hs := httptest.NewServer(mux)
	defer hs.Close()
	base := hs.URL + "/k/api/v2"

	put := func(path, data string) (int, map[string]any) {
		body, ctype := multipartJSON(t, data)
		return send(t, http.MethodPut, base+path, token, body, ctype)
	}
	if status, m := put("/trails/cyber-dojo/promo", `{"name": "r1"}`); status != 404 || m["message"] != "Flow 'promo' does not exist in organization 'cyber-dojo'" {
		t.Errorf("trail in a missing flow: %d %v", status, m)
	}
	if status, _ := put("/flows/cyber-dojo/template_file", `{"name": "promo", "description": "d"}`); status != 201 {
		t.Errorf("flow: %d", status)
	}
	if status, _ := put("/flows/cyber-dojo/template_file", `{"name": "promo", "description": "d2"}`); status != 200 {
		t.Errorf("flow update: %d", status)
	}
	status, m := put("/trails/cyber-dojo/promo", `{"name": "r 1"}`)
	if errs, _ := m["errors"].(map[string]any); status != 400 || m["message"] != "Input payload validation failed" || errs["name"] == nil {
		t.Errorf("bad trail name: %d %v", status, m)
	}
	if status, _ := put("/trails/cyber-dojo/promo", `{"name": "r1"}`); status != 201 {
		t.Errorf("trail: %d", status)
	}
	body, ctype := multipartJSON(t, `{"attestation_name": "a", "is_compliant": true, "annotations": {"bad-key": "x"}}`)
	if status, m := send(t, http.MethodPost, base+"/attestations/cyber-dojo/promo/trail/r1/generic", token, body, ctype); status != 400 {
		t.Errorf("bad annotation key: %d %v", status, m)
	}
	body, ctype = multipartJSON(t, `{"attestation_name": "d", "type_name": "decision", "control": "C", "attestation_data": {}}`)
	if status, m := send(t, http.MethodPost, base+"/attestations/cyber-dojo/promo/trail/r1/system", token, body, ctype); status != 400 {
		t.Errorf("decision without a verdict: %d %v", status, m)
	}
	if n := len(srv.Attestations()); n != 0 {
		t.Errorf("%d attestations recorded from invalid requests", n)
	}
}
