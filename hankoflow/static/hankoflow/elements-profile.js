// The /elements/profile/ page: Hanko's own <hanko-profile> (@teamhanko/hanko-elements 2.7.0) for
// a signed-in person, <hanko-auth> for everyone else, talking to this server. Served at
// /elements/profile/page.js (the page's Content-Security-Policy allows no inline script); the page
// hands over the API base URL and the bundle's URL in a JSON block.
//
// Only one of the two elements is in the page at a time, created when needed: <hanko-profile>
// starts a profile flow as soon as it is connected (401 without a session), and <hanko-auth> a
// login flow. After a sign-in the profile replaces the sign-in form; after a logout, an expired
// session or a deleted account the sign-in form comes back.
const config = JSON.parse(document.getElementById("hanko-elements-config").textContent);
const status = document.getElementById("elements-status");
const slot = document.getElementById("element-slot");
const signedIn = document.getElementById("signed-in");
const signedInAs = document.getElementById("signed-in-as");
const signedOut = document.getElementById("signed-out");
const signedOutText = document.getElementById("signed-out-text");
const logoutButton = document.getElementById("logout");

function show(tag) {
  const current = slot.firstElementChild;
  if (current && current.localName === tag) return;
  const element = document.createElement(tag);
  element.setAttribute("lang", "en");
  slot.replaceChildren(element);
}
function showProfile(claims) {
  const address = claims && claims.email && claims.email.address;
  signedInAs.textContent = address ? ` as ${address}` : "";
  signedIn.hidden = false;
  signedOut.hidden = true;
  show("hanko-profile");
}
function showSignIn(text) {
  signedIn.hidden = true;
  signedOutText.textContent = text;
  signedOut.hidden = false;
  show("hanko-auth");
}
function showError(text, error) {
  status.className = "alert alert-error";
  status.textContent = `${text}: ${error}`;
  status.hidden = false;
}

let hanko = null;
try {
  const { register } = await import(config.bundle);
  ({ hanko } = await register(config.api));
  status.hidden = true;
  hanko.onSessionCreated((detail) => showProfile(detail && detail.claims));
  hanko.onUserLoggedOut(() => showSignIn("You are signed out. Sign in to see your profile."));
  hanko.onSessionExpired(() => showSignIn("Your session has ended. Sign in to see your profile."));
  hanko.onUserDeleted(() => showSignIn("Your account is deleted."));
  logoutButton.addEventListener("click", async () => {
    logoutButton.disabled = true;
    try {
      await hanko.logout(); // POST /logout: the server ends the session and expires the cookie
    } catch (error) {
      showError("Could not log out", error);
    } finally {
      logoutButton.disabled = false;
    }
  });
} catch (error) {
  showError("Could not load Hanko's web components", error);
}
if (hanko) {
  try {
    // Signed in already (a reload, another tab, the HTML sign-in)? GET /sessions/validate.
    const session = await hanko.validateSession();
    if (session.is_valid) showProfile(session.claims);
    else showSignIn("Sign in to see your profile.");
  } catch (error) {
    showError("Could not check the session", error);
  }
}
