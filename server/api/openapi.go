package api

import (
	_ "embed"

	"github.com/gin-gonic/gin"
)

// openAPIDoc is the OpenAPI 3 document of /v1/: every route of the table,
// its request and answer with examples, its error codes and its declared
// access (x-access, x-scope). TestOpenAPI_Coverage fails when it and the
// route table disagree; TestOpenAPI_Examples sends its examples to a real
// server and checks the answers against it.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the document; it says nothing the README does not.
func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(200, "application/json; charset=utf-8", openAPIDoc)
}
