package slacktest

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Limits Slack enforces on what it accepts; the fake answers invalid_blocks
// (or msg_too_long) past them so that rendering bugs show in tests rather
// than in a real workspace.
const (
	maxTextLen         = 40_000
	maxBlocks          = 50
	maxBlockIDLen      = 255
	maxSectionText     = 3_000
	maxSectionFields   = 10
	maxFieldText       = 2_000
	maxHeaderText      = 150
	maxContextElements = 10
	maxActionsElements = 25
	maxButtonText      = 75
	maxActionIDLen     = 255
	maxButtonValue     = 2_000
	maxButtonURL       = 3_000
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	// maxMessageBlockText is the cap on all the text a message's blocks hold,
	// added up. Slack documents no such limit, but refuses a message past it
	// with msg_blocks_too_long: reported at ~13,200 characters in
	// slackapi/bolt-js#2509, and stated by Slack staff in slackapi/bolt-js#2867
	// as "12,000 text characters with a buffer". The fake takes the staff's
	// figure, without the buffer.
	maxMessageBlockText = 12_000
)

// messageBlocksTooLong reports whether a message's blocks hold more text, in
// all, than Slack accepts in one message (chat.postMessage, chat.update and a
// response_url post answer msg_blocks_too_long). Views have no such cap.
func messageBlocksTooLong(blocks json.RawMessage) bool {
	if len(blocks) == 0 {
		return false
	}
	var v any
	if json.Unmarshal(blocks, &v) != nil {
		return false
	}
	return blockTextChars(v) > maxMessageBlockText
}

// blockTextChars adds up the characters of every text object's text under v:
// sections, fields, headers, context elements, buttons and their confirms.
func blockTextChars(v any) int {
	n := 0
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok {
				if k == "text" {
					n += utf8.RuneCountInString(s)
				}
				continue
			}
			n += blockTextChars(e)
		}
	case []any:
		for _, e := range t {
			n += blockTextChars(e)
		}
	}
	return n
}

// validateBlocks checks a Block Kit array against Slack's limits and returns
// it as Slack stores it: compacted, with a generated block_id on every block
// that had none (so that clicks always carry one); nil for an empty array.
func validateBlocks(raw []byte) (json.RawMessage, string) {
	return validateBlocksUpTo(raw, maxBlocks)
}

// validateBlocksUpTo is validateBlocks for a surface that holds up to limit
// blocks: 50 for a message, 100 for a modal or a Home tab
// (https://api.slack.com/reference/block-kit/blocks).
func validateBlocksUpTo(raw []byte, limit int) (json.RawMessage, string) {
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, "invalid_blocks"
	}
	if len(blocks) == 0 {
		return nil, ""
	}
	if len(blocks) > limit {
		return nil, "invalid_blocks"
	}
	seen := map[string]bool{}
	missing := false
	for _, b := range blocks {
		if b == nil || str(b, "type") == "" {
			return nil, "invalid_blocks"
		}
		if id := str(b, "block_id"); id != "" {
			if seen[id] || tooLong(id, maxBlockIDLen) {
				return nil, "invalid_blocks"
			}
			seen[id] = true
		} else {
			missing = true
		}
		if !validBlock(b) {
			return nil, "invalid_blocks"
		}
	}
	if missing {
		for _, b := range blocks {
			if str(b, "block_id") == "" {
				b["block_id"] = randomHex(3)
			}
		}
		out, err := json.Marshal(blocks)
		if err != nil {
			return nil, "invalid_blocks"
		}
		return out, ""
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, "invalid_blocks"
	}
	return out.Bytes(), ""
}

// validBlock checks the limits of one block by type.
func validBlock(b map[string]any) bool {
	switch str(b, "type") {
	case "section":
		if tooLong(textOf(b["text"]), maxSectionText) {
			return false
		}
		fields, _ := b["fields"].([]any)
		if len(fields) > maxSectionFields {
			return false
		}
		for _, f := range fields {
			if tooLong(textOf(f), maxFieldText) {
				return false
			}
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			return validElement(acc)
		}
	case "header":
		t, _ := b["text"].(map[string]any)
		return t != nil && str(t, "type") == "plain_text" && !tooLong(str(t, "text"), maxHeaderText)
	case "context":
		els, _ := b["elements"].([]any)
		return len(els) <= maxContextElements
	case "actions":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > maxActionsElements {
			return false
		}
		ids := map[string]bool{}
		for _, e := range els {
			el, ok := e.(map[string]any)
			if !ok || !validElement(el) {
				return false
			}
			if id := str(el, "action_id"); id != "" {
				if ids[id] {
					return false
				}
				ids[id] = true
			}
		}
	}
	return true
}

// validElement checks an interactive element; only buttons have limits here.
func validElement(el map[string]any) bool {
	if tooLong(str(el, "action_id"), maxActionIDLen) {
		return false
	}
	if str(el, "type") != "button" {
		return true
	}
	switch str(el, "style") {
	case "", "primary", "danger":
	default:
		return false
	}
	if tooLong(textOf(el["text"]), maxButtonText) || tooLong(str(el, "value"), maxButtonValue) ||
		tooLong(str(el, "url"), maxButtonURL) {
		return false
	}
	if c, ok := el["confirm"].(map[string]any); ok {
		return !tooLong(textOf(c["title"]), maxConfirmTitle) && !tooLong(textOf(c["text"]), maxConfirmText)
	}
	return true
}

// findAction finds the element with the action id in a message's blocks and
// returns its block's id and the element.
func findAction(blocks json.RawMessage, actionID string) (string, map[string]any) {
	return findActionIn(blocks, actionID, "")
}

// findActionIn is findAction in the block with blockID, or in the first
// block that has the action when blockID is "".
func findActionIn(blocks json.RawMessage, actionID, blockID string) (string, map[string]any) {
	var bs []map[string]any
	if json.Unmarshal(blocks, &bs) != nil {
		return "", nil
	}
	for _, b := range bs {
		if blockID != "" && str(b, "block_id") != blockID {
			continue
		}
		els, _ := b["elements"].([]any)
		if acc, ok := b["accessory"].(map[string]any); ok {
			els = append(els, acc)
		}
		for _, e := range els {
			if el, ok := e.(map[string]any); ok && str(el, "action_id") == actionID {
				return str(b, "block_id"), el
			}
		}
	}
	return "", nil
}

// str returns m[k] when it is a string.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// textOf returns the text of a text object.
func textOf(v any) string {
	t, _ := v.(map[string]any)
	return str(t, "text")
}

// tooLong reports whether s has more than n characters.
func tooLong(s string, n int) bool {
	return utf8.RuneCountInString(s) > n
}
