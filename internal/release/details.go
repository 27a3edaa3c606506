package release

import "encoding/json"

// Details is what a release carries for the steps after its proposal, kept in
// Release.Details.
type Details struct {
	// Inputs are the workflow_dispatch inputs, computed and checked against
	// GitHub's limits at propose time, so that a release that cannot be
	// dispatched is refused then, never at dispatch.
	Inputs map[string]string `json:"inputs,omitempty"`
}

// ReadDetails decodes r.Details; an empty value is no details.
func (r *Release) ReadDetails() (Details, error) {
	var d Details
	if len(r.Details) == 0 {
		return d, nil
	}
	err := json.Unmarshal(r.Details, &d)
	return d, err
}

// WriteDetails encodes d into r.Details.
func (r *Release) WriteDetails(d Details) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	r.Details = b
	return nil
}
