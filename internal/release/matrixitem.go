package release

import "encoding/json"

// MatrixItem is one promotion as the 19-key object of cyber-dojo's
// promotion list (MatrixKeys), compact: what Kosli records as the
// artifact's promotion attestation.
func MatrixItem(p *Promotion) json.RawMessage {
	return appendMatrixItem(nil, p, false)
}
