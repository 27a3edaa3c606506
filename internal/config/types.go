package config

import (
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// ChannelID is a Slack channel id (C0123456789, or G… for an old private
// channel). Slack's API and its payloads speak ids; a #name can be renamed.
type ChannelID string

var channelPattern = regexp.MustCompile(`^[CG][A-Z0-9]{8,}$`)

// ParseChannelID reads a ChannelID, telling someone who wrote a #name where
// to find the id.
func ParseChannelID(s string) (ChannelID, error) {
	if channelPattern.MatchString(s) {
		return ChannelID(s), nil
	}
	if strings.HasPrefix(s, "#") {
		return "", errors.New(quote(s) + " is a channel name; use the channel id (like C0123456789), found at the bottom of the channel's details")
	}
	return "", errors.New("must be a Slack channel id like C0123456789 (found at the bottom of the channel's details), not " + quote(s))
}

// Approver is one entry of a pipeline's approvers: exactly one of UserID
// (U0123ABCD) and Handle (a user group's handle, without the @, as Slack's
// usergroups.list returns it) is set.
type Approver struct {
	UserID string
	Handle string
}

var (
	userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	handlePattern = regexp.MustCompile(`^@[a-z0-9][a-z0-9._-]*$`)
)

// ParseApprover reads "U0123ABCD" as a user and "@release-managers" as a user group.
func ParseApprover(s string) (Approver, error) {
	switch {
	case userIDPattern.MatchString(s):
		return Approver{UserID: s}, nil
	case handlePattern.MatchString(s):
		return Approver{Handle: s[1:]}, nil
	case strings.HasPrefix(s, "@"):
		return Approver{}, errors.New("must be a user group handle of lowercase letters, digits, '.', '_' and '-' such as @release-managers, not " + quote(s))
	}
	return Approver{}, errors.New("must be a Slack user id (U0123ABCD) or a user group handle (@release-managers), not " + quote(s))
}

// String writes the approver as it is written in the file.
func (a Approver) String() string {
	if a.Handle != "" {
		return "@" + a.Handle
	}
	return a.UserID
}

// Gate says what a failing SDLC gate does to a release.
type Gate string

const (
	// GateEnforce refuses approval while any incoming artifact is non-compliant.
	GateEnforce Gate = "enforce"
	// GateWarn shows non-compliance but allows approval.
	GateWarn Gate = "warn"
)

func parseGate(s string) (Gate, error) {
	if g := Gate(s); g == GateEnforce || g == GateWarn {
		return g, nil
	}
	return "", errors.New("must be enforce or warn, not " + quote(s))
}

// Matrix names the shape of the matrix input sent to the promotion workflow.
type Matrix string

const (
	// MatrixDefault is release-bot's own promotion list.
	MatrixDefault Matrix = "default"
	// MatrixCyberDojo is the 19-key promotion list of cyber-dojo's
	// aws-prod-co-promotion workflow.
	MatrixCyberDojo Matrix = "cyber-dojo"
)

func parseMatrix(s string) (Matrix, error) {
	if m := Matrix(s); m == MatrixDefault || m == MatrixCyberDojo {
		return m, nil
	}
	return "", errors.New("must be default or cyber-dojo, not " + quote(s))
}

// parseWorkflowFile checks a workflow's file name, which the dispatch API
// takes in place of the workflow's id.
func parseWorkflowFile(s string) (string, error) {
	switch {
	case strings.ContainsAny(s, `/\`):
		return "", errors.New("must be a file name in .github/workflows such as promote.yml, without a directory, not " + quote(s))
	case !strings.HasSuffix(s, ".yml") && !strings.HasSuffix(s, ".yaml") || strings.HasPrefix(s, "."):
		return "", errors.New("must be a workflow file name ending in .yml or .yaml, not " + quote(s))
	}
	return s, nil
}

// parseRef applies the parts of git check-ref-format that a typo can break.
func parseRef(s string) (string, error) {
	bad := strings.ContainsAny(s, "~^:?*[\\") || strings.Contains(s, "..") || strings.Contains(s, "@{") ||
		strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") ||
		strings.HasSuffix(s, ".") || strings.HasSuffix(s, ".lock") ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	if bad {
		return "", errors.New("must be a branch or tag name such as main, not " + quote(s))
	}
	return s, nil
}

// Repo is a GitHub repository.
type Repo struct {
	Owner string
	Name  string
}

var (
	ownerPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`)
	repoNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
)

// ParseRepo reads "owner/name".
func ParseRepo(s string) (Repo, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || !ownerPattern.MatchString(owner) || !repoNamePattern.MatchString(name) || name == "." || name == ".." {
		return Repo{}, errors.New("must be a GitHub repository as owner/name such as cyber-dojo/aws-prod-co-promotion, not " + quote(s))
	}
	return Repo{Owner: owner, Name: name}, nil
}

// String writes owner/name.
func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseTime reads an RFC 3339 time such as 2026-12-24T18:00:00Z or
// 2026-12-24T18:00:00+01:00: the offset is required, so that a time means
// the same instant on every replica whatever its zone.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time with its offset such as 2026-12-24T18:00:00Z, not " + quote(s))
	}
	return t, nil
}
