package release

import (
	"strings"
)

// Forge is the kind of git host a commit URL points at.
type Forge string

// Forges release-bot recognises. ForgeUnknown still yields a sha where one can be read.
const (
	ForgeGitHub    Forge = "github"
	ForgeGitLab    Forge = "gitlab"
	ForgeBitbucket Forge = "bitbucket"
	ForgeUnknown   Forge = ""
)

// Commit is what a commit URL tells: the repository, its name and the commit.
type Commit struct {
	// URL is the commit URL as Kosli reported it.
	URL string
	// RepoURL is the repository's web URL, e.g. https://github.com/cyber-dojo/saver ("" when the shape is unknown).
	RepoURL string
	// RepoName is the last path segment of RepoURL.
	RepoName string
	// SHA is the commit id ("" when none can be read).
	SHA string
	// Host is the URL's host, lower-cased.
	Host  string
	Forge Forge
}

// ParseCommitURL reads a commit URL of any shape without failing:
// <repo>/commit/<sha> (GitHub, GitHub Enterprise, Gitea), <repo>/-/commit/<sha>
// (GitLab, nested groups too), <repo>/commits/<sha> (Bitbucket). For other
// shapes it takes the last path segment as the sha when it looks like one.
func ParseCommitURL(raw string) Commit {
	c := Commit{URL: raw}
	s := raw
	if s != "" && (s[0] <= ' ' || s[len(s)-1] <= ' ') {
		s = strings.TrimSpace(s)
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	c.Host = hostOf(s)
	repo, sha, shape := splitCommit(s)
	c.SHA = sha
	if repo != "" && c.Host != "" {
		c.RepoURL = repo
		c.RepoName = repo[strings.LastIndexByte(repo, '/')+1:]
	}
	c.Forge = forgeOf(c.Host, shape)
	return c
}

// hostOf returns the lower-cased host of an absolute URL, "" for anything else.
// It is a fraction of url.Parse's cost, which matters on a 5,000-service diff.
func hostOf(s string) string {
	i := strings.Index(s, "://")
	if i <= 0 {
		return ""
	}
	for j := 0; j < i; j++ {
		if c := s[j]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	rest := s[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		rest = rest[:j]
	}
	if k := strings.LastIndexByte(rest, '@'); k >= 0 {
		rest = rest[k+1:] // userinfo is never part of the host
	}
	for j := 0; j < len(rest); j++ {
		if c := rest[j]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(rest)
		}
	}
	return rest
}

// splitCommit finds the marker that separates repository from commit:
// ".../-/commit/<sha>", ".../commit/<sha>" or ".../commits/<sha>", the sha
// being the last path segment or the one before it.
func splitCommit(s string) (repo, sha string, shape Forge) {
	end := len(s)
	for try := 0; try < 2 && end > 0; try++ {
		slash := strings.LastIndexByte(s[:end], '/')
		if slash < 0 {
			break
		}
		candidate := s[slash+1 : end]
		if looksLikeSHA(candidate) {
			head := s[:slash]
			switch {
			case strings.HasSuffix(head, "/-/commit"):
				return head[:len(head)-len("/-/commit")], candidate, ForgeGitLab
			case strings.HasSuffix(head, "/commit"):
				return head[:len(head)-len("/commit")], candidate, ForgeGitHub
			case strings.HasSuffix(head, "/commits"):
				return head[:len(head)-len("/commits")], candidate, ForgeBitbucket
			}
			if try == 0 {
				sha = candidate
			}
		}
		end = slash
	}
	return "", sha, ForgeUnknown
}

func looksLikeSHA(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// forgeOf names the forge by host first (a GitLab URL without "/-/" is still
// GitLab), then by the URL's shape (self-hosted GitLab, GitHub Enterprise).
func forgeOf(host string, shape Forge) Forge {
	switch {
	case host == "github.com" || strings.HasSuffix(host, ".github.com"):
		return ForgeGitHub
	case host == "gitlab.com" || strings.HasPrefix(host, "gitlab."):
		return ForgeGitLab
	case host == "bitbucket.org" || strings.HasPrefix(host, "bitbucket."):
		return ForgeBitbucket
	}
	return shape
}

// CompareURL links the commits between two builds of one repository, or ""
// when the forge has no compare link we know how to build.
func CompareURL(outgoing, incoming Commit) string {
	if incoming.RepoURL == "" || incoming.RepoURL != outgoing.RepoURL || incoming.SHA == "" || outgoing.SHA == "" {
		return ""
	}
	switch incoming.Forge {
	case ForgeGitHub, ForgeGitLab:
		return incoming.RepoURL + "/compare/" + outgoing.SHA + "..." + incoming.SHA
	}
	return ""
}

// Link is the best single link to a commit: <repo>/commit/<sha> where the
// forge has one, else the URL Kosli gave.
func (c Commit) Link() string {
	if c.RepoURL != "" && c.SHA != "" && (c.Forge == ForgeGitHub || c.Forge == ForgeGitLab) {
		return c.RepoURL + "/commit/" + c.SHA
	}
	return c.URL
}

// RawSnykPolicyURL is where the repository's .snyk policy file is at this
// commit, the way cyber-dojo's workflow reads it; "" for other forges.
func (c Commit) RawSnykPolicyURL() string {
	p := c.rawSnykPolicyParts()
	return p[0] + p[1] + p[2] + p[3] + p[4]
}

// rawSnykPolicyParts is RawSnykPolicyURL in pieces, so that the matrix
// encoder can write it without building it (two strings per promotion).
func (c Commit) rawSnykPolicyParts() [5]string {
	if c.RepoURL == "" || c.SHA == "" {
		return [5]string{}
	}
	switch c.Forge {
	case ForgeGitHub:
		if c.Host == "github.com" {
			return [5]string{"https://raw.githubusercontent.com/", strings.TrimPrefix(c.RepoURL, "https://github.com/"), "/", c.SHA, "/.snyk"}
		}
		return [5]string{c.RepoURL, "/raw/", c.SHA, "/.snyk"}
	case ForgeGitLab:
		return [5]string{c.RepoURL, "/-/raw/", c.SHA, "/.snyk"}
	}
	return [5]string{}
}

// ShortSHA is the first seven characters of the sha.
func (c Commit) ShortSHA() string {
	if len(c.SHA) > 7 {
		return c.SHA[:7]
	}
	return c.SHA
}
