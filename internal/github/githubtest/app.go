package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const docsAppToken = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"

// AddApp installs the GitHub App appID, whose private key pairs with key,
// as installation installationID: a JWT the App signs can then be traded
// for an installation token, which the fake accepts like its own token.
func (s *Server) AddApp(appID, installationID int64, key *rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[installationID] = key
	s.appIDs[installationID] = appID
}

// serveAccessToken trades an App's JWT for an installation token.
func (s *Server) serveAccessToken(w http.ResponseWriter, r *http.Request, segs []string) {
	id, _ := strconv.ParseInt(segs[2], 10, 64)
	s.mu.Lock()
	key, ok := s.apps[id]
	appID := s.appIDs[id]
	s.mu.Unlock()
	jwt, isBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !isBearer || !ok {
		writeMessage(w, http.StatusUnauthorized, "A JSON web token could not be decoded", docsAppToken)
		return
	}
	if problem := checkJWT(jwt, key, appID); problem != "" {
		writeMessage(w, http.StatusUnauthorized, problem, docsAppToken)
		return
	}
	var raw [18]byte
	_, _ = rand.Read(raw[:])
	token := "ghs_" + hex.EncodeToString(raw[:])
	s.mu.Lock()
	s.issued[token] = true
	expires := s.now().Add(time.Hour).UTC().Format(time.RFC3339)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": token, "expires_at": expires,
		"permissions": map[string]string{"actions": "write"}, "repository_selection": "all",
	})
}

// checkJWT verifies an App's RS256 JWT: signature, issuer and a lifetime
// of at most 10 minutes. It returns GitHub's complaint, "" when it is good.
// Its times are not checked against the fake's clock, which tests move.
func checkJWT(jwt string, key *rsa.PublicKey, appID int64) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "A JSON web token could not be decoded"
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat int64           `json:"iat"`
		Exp int64           `json:"exp"`
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	c, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil {
		return "A JSON web token could not be decoded"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if header.Alg != "RS256" || rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig) != nil {
		return "A JSON web token could not be decoded"
	}
	if iss := strings.Trim(string(claims.Iss), `"`); iss != strconv.FormatInt(appID, 10) {
		return "'Issuer' claim ('iss') must be the App's id"
	}
	if claims.Exp <= claims.Iat || claims.Exp-claims.Iat > 600 {
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	return ""
}
