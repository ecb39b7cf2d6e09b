// A real OpenID provider for the tests: the certified `oidc-provider` (npm), not a mock.
//
// Started by tests/oidc_provider.py with one JSON argument:
//   {"port": 0, "jwks": {"keys": [<private JWK>]}, "clients": [...], "accounts": {sub: claims}}
// Signs in with its development login form (any password; the login is the account's sub),
// asks for consent, and prints "listening <issuer>" once it accepts connections.
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: ['candor-tests-only'] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'employee'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    employee: ['employee_id'],
  },
  // The ID token carries the claims asked for, as many providers' do.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, sub) {
    const claims = config.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
});
provider.proxy = false;

// Its development pages import a web font from a CDN; nothing here may reach outside, so the
// import is taken out (the browser tests fail on any request leaving 127.0.0.1).
provider.use(async (ctx, next) => {
  await next();
  if (typeof ctx.body === 'string' && ctx.type.includes('html')) {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
  }
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
