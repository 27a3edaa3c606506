package schema

import (
	"bytes"
	_ "embed"
)

// PromotionMatrixID is the $id of the schema of the promotion attestation
// release-bot records in Kosli per artifact.
const PromotionMatrixID = "https://raw.githubusercontent.com/release-bot/release-bot/main/schema/promotion-matrix.schema.json"

//go:embed promotion-matrix.schema.json
var promotionMatrix []byte

// PromotionMatrixJSON returns the schema of Kosli's "promotion" custom
// attestation type as written: the bot creates the type with it.
func PromotionMatrixJSON() []byte { return bytes.Clone(promotionMatrix) }
