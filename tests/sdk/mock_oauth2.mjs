// A small OAuth2/OIDC provider for the tests, on loopback: it plays the
// part of the identity provider after the user has consented. A test asks
// it for an authorization code (as the redirect back to the app would carry
// one), tied to the PKCE challenge the server handed out and to the user the
// provider will describe. The token endpoint then checks the code, the
// client's id and secret and the PKCE verifier, as a real provider does.
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

export class MockProvider {
  constructor({ clientId = 'mock-client', clientSecret = 'mock-secret-value' } = {}) {
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.codes = new Map(); // code -> { challenge, user }
    this.tokens = new Map(); // access token -> user
    this.requests = []; // every token request's form fields, for assertions
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseURL = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** The provider config for a collection's `oauth2.providers[]`. */
  providerConfig(extra = {}) {
    return {
      name: 'oidc',
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      authURL: `${this.baseURL}/authorize`,
      tokenURL: `${this.baseURL}/token`,
      userInfoURL: `${this.baseURL}/userinfo`,
      displayName: 'Mock IdP',
      pkce: true,
      ...extra,
    };
  }

  /** A one-time code for `user` (OIDC claims), bound to a PKCE challenge. */
  issueCode(codeChallenge, user) {
    const code = randomBytes(12).toString('hex');
    this.codes.set(code, { challenge: codeChallenge, user });
    return code;
  }

  async handle(req, res) {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url, this.baseURL);
    if (req.method === 'POST' && url.pathname === '/token') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const form = Object.fromEntries(new URLSearchParams(raw));
      // Client credentials may come in the form or as HTTP Basic auth.
      const basic = (req.headers.authorization ?? '').match(/^Basic (.+)$/);
      if (basic) {
        const [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent);
        form.client_id ??= id;
        form.client_secret ??= secret;
      }
      this.requests.push(form);
      if (form.client_id !== this.clientId || form.client_secret !== this.clientSecret) {
        return send(401, { error: 'invalid_client' });
      }
      const entry = this.codes.get(form.code);
      if (form.grant_type !== 'authorization_code' || !entry) {
        return send(400, { error: 'invalid_grant', error_description: 'unknown code' });
      }
      const challenge = createHash('sha256').update(form.code_verifier ?? '').digest('base64url');
      if (challenge !== entry.challenge) {
        return send(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      }
      this.codes.delete(form.code);
      const accessToken = randomBytes(16).toString('hex');
      this.tokens.set(accessToken, entry.user);
      return send(200, {
        access_token: accessToken,
        token_type: 'Bearer',
        refresh_token: `refresh-${accessToken}`,
        expires_in: 3600,
      });
    }
    if (req.method === 'GET' && url.pathname === '/userinfo') {
      const bearer = (req.headers.authorization ?? '').replace(/^Bearer /i, '');
      const user = this.tokens.get(bearer);
      return user ? send(200, user) : send(401, { error: 'invalid_token' });
    }
    send(404, { error: 'not_found' });
  }
}
