package kosli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Control is one of the org's controls (a beta Kosli feature), as
// GET /controls/{org}/{identifier} returns it (kosli-dev/cli
// cmd/kosli/getControl.go reads identifier, name and description).
type Control struct {
	Identifier  string `json:"identifier"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Control reads the org's control id. An unknown control is an error that
// matches ErrNotFound, so that start-up can say the configured control is missing.
//
// API: https://app.kosli.com/api/v2/doc/#/Controls
func (c *Client) Control(ctx context.Context, id string) (Control, error) {
	if err := checkControlID(id); err != nil {
		return Control{}, err
	}
	k := call{
		method: http.MethodGet, route: "GET /controls/{org}/{identifier}",
		path: []string{"controls", c.org, id}, notFound: fmt.Sprintf("Kosli has no control %q in org %q", id, c.org),
	}
	data, _, err := c.do(ctx, k)
	if err != nil {
		return Control{}, err
	}
	var ctl Control
	if err := decodeJSON(k, data, '{', "a control", &ctl); err != nil {
		return Control{}, err
	}
	return ctl, nil
}

// checkControlID applies Kosli's rule for control identifiers
// (kosli-dev/cli cmd/kosli/createControl_test.go: ^[a-zA-Z0-9\-._~]+$).
func checkControlID(id string) error {
	if !controlIDPattern.MatchString(id) {
		return &ValidationError{Field: "control identifier", Value: id, Rule: "it must hold only letters, digits, '-', '.', '_' and '~'"}
	}
	return nil
}

// customAttestationType is what GET /custom-attestation-types/{org}/{name}
// returns, as far as EnsureAttestationType needs it.
type customAttestationType struct {
	Name string `json:"name"`
}

// EnsureAttestationType creates the custom attestation type name, with the
// JSON schema schema (nil for none), unless the org has it already. An
// existing type is left as it is: its schema is not compared or updated.
//
// API: https://app.kosli.com/api/v2/doc/#/Custom%20Attestation%20Types
func (c *Client) EnsureAttestationType(ctx context.Context, name, description string, schema []byte) error {
	if err := checkName("attestation type name", name); err != nil {
		return err
	}
	k := call{
		method: http.MethodGet, route: "GET /custom-attestation-types/{org}/{name}",
		path: []string{"custom-attestation-types", c.org, name},
	}
	data, _, err := c.do(ctx, k)
	if err == nil {
		var t customAttestationType
		return decodeJSON(k, data, '{', "a custom attestation type", &t)
	}
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	// data_json as `kosli create attestation-type` sends it
	// (kosli-dev/cli cmd/kosli/createAttestationType.go): no evaluator without jq rules.
	payload := struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}{name, description}
	var files []formFile
	if schema != nil {
		files = append(files, formFile{field: "type_schema", name: "schema.json", content: schema})
	}
	body, err := multipartBody(payload, files...)
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{
		method: http.MethodPost, route: "POST /custom-attestation-types/{org}",
		path: []string{"custom-attestation-types", c.org}, body: body, write: true,
	})
	return err
}
