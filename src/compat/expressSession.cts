/**
 * The CommonJS entry of the express-session drop-in: `const session =
 * require('swarmauri-middleware-session/express-session')` gives the same function as the ES
 * module's default export (Node 20.19+ loads the ES module with `require`).
 */
import dropin = require('./expressSession.js');
import session = dropin.session;

export = session;
