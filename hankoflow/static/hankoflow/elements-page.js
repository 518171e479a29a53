// The /elements/ page: Hanko's own <hanko-auth> (@teamhanko/hanko-elements 2.7.0), talking to
// this server. Served at /elements/page.js (the page's Content-Security-Policy allows no inline
// script); the page hands over the API base URL and the bundle's URL in a JSON block.
// register(api) takes the API base URL; the elements add /login, /registration, ... to it.
const config = JSON.parse(document.getElementById("hanko-elements-config").textContent);
const status = document.getElementById("elements-status");
const auth = document.querySelector("hanko-auth");
const signedIn = document.getElementById("signed-in");
const signedInAs = document.getElementById("signed-in-as");
const logoutButton = document.getElementById("logout");

// With a session the page shows who is signed in and a "Log out" button; without one it shows
// <hanko-auth>, which keeps its last page after a sign-in (a real app would navigate away).
function showSignedIn(claims) {
  const address = claims && claims.email && claims.email.address;
  signedInAs.textContent = address ? ` as ${address}` : "";
  signedIn.hidden = false;
  auth.hidden = true;
}
function showSignedOut() {
  signedIn.hidden = true;
  auth.hidden = false;
}
function showError(text, error) {
  status.className = "alert alert-error";
  status.textContent = `${text}: ${error}`;
  status.hidden = false;
}

auth.addEventListener("onSessionCreated", (event) => showSignedIn(event.detail && event.detail.claims));
let hanko = null;
try {
  const { register } = await import(config.bundle);
  ({ hanko } = await register(config.api));
  status.hidden = true;
  // After a logout or when the session ends, <hanko-auth> starts a new login flow by itself.
  hanko.onUserLoggedOut(showSignedOut);
  hanko.onSessionExpired(showSignedOut);
  logoutButton.addEventListener("click", async () => {
    logoutButton.disabled = true;
    try {
      await hanko.logout();  // POST /logout: the server ends the session and expires the cookie
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
    // Already signed in (a reload, another tab)? GET /sessions/validate answers.
    const session = await hanko.validateSession();
    if (session.is_valid) showSignedIn(session.claims);
  } catch (error) {
    showError("Could not check the session", error);
  }
}
