package github

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Workflow is a workflow file in a repository, run on a ref.
type Workflow struct {
	// Owner and Repo name the repository, e.g. cyber-dojo and aws-prod-co-promotion.
	Owner, Repo string
	// File is the workflow's file name under .github/workflows, e.g. promote.yml.
	File string
	// Ref is the branch or tag to run it on, e.g. main.
	Ref string
}

var (
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	filePattern  = regexp.MustCompile(`^[A-Za-z0-9._-]+\.ya?ml$`)
)

// ParseRepo reads "owner/repo".
func ParseRepo(s string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(s, "/")
	if !ok || !ownerPattern.MatchString(owner) || !repoPattern.MatchString(repo) || repo == "." || repo == ".." {
		return "", "", &ValidationError{Field: "repository", Rule: "must be owner/name such as cyber-dojo/aws-prod-co-promotion, not " + quote(s)}
	}
	return owner, repo, nil
}

// NewWorkflow is the workflow file in repo ("owner/repo") run on ref.
func NewWorkflow(repo, file, ref string) (Workflow, error) {
	owner, name, err := ParseRepo(repo)
	if err != nil {
		return Workflow{}, err
	}
	w := Workflow{Owner: owner, Repo: name, File: file, Ref: ref}
	return w, w.Validate()
}

// Validate checks every field.
func (w Workflow) Validate() error {
	if err := w.validateRepo(); err != nil {
		return err
	}
	if !filePattern.MatchString(w.File) {
		return &ValidationError{Field: "workflow file", Rule: "must be a file name under .github/workflows such as promote.yml, not " + quote(w.File)}
	}
	if strings.TrimSpace(w.Ref) == "" {
		return &ValidationError{Field: "workflow ref", Rule: "must name a branch or tag such as main"}
	}
	return nil
}

func (w Workflow) validateRepo() error {
	_, _, err := ParseRepo(w.Owner + "/" + w.Repo)
	return err
}

// String is owner/repo/.github/workflows/file@ref.
func (w Workflow) String() string {
	return w.Owner + "/" + w.Repo + "/.github/workflows/" + w.File + "@" + w.Ref
}

// repoPath is "repos/{owner}/{repo}", escaped.
func (w Workflow) repoPath() string {
	return "repos/" + url.PathEscape(w.Owner) + "/" + url.PathEscape(w.Repo)
}

// branch is the ref as the runs list's branch filter wants it (a run's head_branch).
func (w Workflow) branch() string {
	ref := strings.TrimPrefix(w.Ref, "refs/heads/")
	return strings.TrimPrefix(ref, "refs/tags/")
}

func quote(s string) string { return strconv.Quote(s) }
