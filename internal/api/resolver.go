package api

import (
	"context"
	"encoding/base64"
	"strconv"

	"builds/internal/api/graph"
	"builds/internal/api/graph/model"
	"builds/internal/build"

	"github.com/99designs/gqlgen/graphql"
)

// Resolver is the root of the GraphQL resolvers.
type Resolver struct {
	opts Options
}

var _ graph.ResolverRoot = (*Resolver)(nil)

// Artifact returns the Artifact field resolvers.
func (r *Resolver) Artifact() graph.ArtifactResolver { return artifactResolver{r} }

// EmailTrigger returns the EmailTrigger field resolvers.
func (r *Resolver) EmailTrigger() graph.EmailTriggerResolver { return emailTriggerResolver{r} }

// Job returns the Job field resolvers.
func (r *Resolver) Job() graph.JobResolver { return jobResolver{r} }

// JobGroup returns the JobGroup field resolvers.
func (r *Resolver) JobGroup() graph.JobGroupResolver { return groupResolver{r} }

// Log returns the Log field resolvers.
func (r *Resolver) Log() graph.LogResolver { return logResolver{r} }

// Mutation returns the mutation resolvers.
func (r *Resolver) Mutation() graph.MutationResolver { return mutationResolver{r} }

// PGPKey returns the PGPKey field resolvers.
func (r *Resolver) PGPKey() graph.PGPKeyResolver { return pgpKeyResolver{r} }

// Query returns the query resolvers.
func (r *Resolver) Query() graph.QueryResolver { return queryResolver{r} }

// SSHKey returns the SSHKey field resolvers.
func (r *Resolver) SSHKey() graph.SSHKeyResolver { return sshKeyResolver{r} }

// SecretFile returns the SecretFile field resolvers.
func (r *Resolver) SecretFile() graph.SecretFileResolver { return secretFileResolver{r} }

// Task returns the Task field resolvers.
func (r *Resolver) Task() graph.TaskResolver { return taskResolver{r} }

// User returns the User field resolvers.
func (r *Resolver) User() graph.UserResolver { return userResolver{r} }

// UserWebhookSubscription returns the webhook subscription resolvers.
func (r *Resolver) UserWebhookSubscription() graph.UserWebhookSubscriptionResolver {
	return webhookResolver{r}
}

// access implements the @access directive.
func (r *Resolver) access(ctx context.Context, _ any, next graphql.Resolver, scope build.Scope, kind model.AccessKind) (any, error) {
	if err := allows(ctx, scope, kind == model.AccessKindRw); err != nil {
		return nil, err
	}
	return next(ctx)
}

func passThrough(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	return next(ctx)
}

// me returns the caller, or EUNAUTHORIZED for anonymous requests.
func me(ctx context.Context) (*build.User, error) {
	u := UserFromContext(ctx)
	if u == nil {
		return nil, errAuthRequired
	}
	return u, nil
}

// pageSize is how many results one page of a listing holds.
const pageSize = 25

// encodeCursor makes an opaque cursor from the ID listings continue
// before; 0 (no more results) is no cursor.
func encodeCursor(before int64) *string {
	if before == 0 {
		return nil
	}
	c := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(before, 10)))
	return &c
}

// decodeCursor reverses encodeCursor; nil means the first page.
func decodeCursor(c *string) (int64, error) {
	if c == nil || *c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*c)
	if err == nil {
		if n, perr := strconv.ParseInt(string(b), 10, 64); perr == nil && n > 0 {
			return n, nil
		}
	}
	return 0, build.Errorf(build.EINVALID, "invalid cursor %q: pass back a cursor this API returned", *c)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
