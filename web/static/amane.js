// Amane — the WebAuthn ceremonies of the sign-in and passkey pages. The only script of the site
// (the Content-Security-Policy allows no other, and no inline code). It fetches the options the
// server prepared, asks the browser's authenticator, and posts the answer back with the page's CSRF
// token; the server checks everything.
"use strict";
(function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf"]');
    return m ? m.content : "";
  }
  function fromB64u(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var b = atob(s), a = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) a[i] = b.charCodeAt(i);
    return a.buffer;
  }
  function toB64u(buf) {
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) s += String.fromCharCode(a[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  async function post(url, body) {
    var r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body || {})
    });
    var j = await r.json().catch(function () { return {}; });
    if (!r.ok) throw new Error(j.error || "La demande a échoué.");
    return j;
  }
  function common(cred) {
    var out = { id: cred.id, rawId: toB64u(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults() };
    if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
    return out;
  }
  async function signIn(btn) {
    var opts = (await post(btn.dataset.options)).publicKey;
    opts.challenge = fromB64u(opts.challenge);
    (opts.allowCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
    var cred = await navigator.credentials.get({ publicKey: opts });
    var out = common(cred);
    out.response = {
      clientDataJSON: toB64u(cred.response.clientDataJSON),
      authenticatorData: toB64u(cred.response.authenticatorData),
      signature: toB64u(cred.response.signature)
    };
    if (cred.response.userHandle) out.response.userHandle = toB64u(cred.response.userHandle);
    return post(btn.dataset.finish, out);
  }
  async function register(btn) {
    var opts = (await post(btn.dataset.options)).publicKey;
    opts.challenge = fromB64u(opts.challenge);
    opts.user.id = fromB64u(opts.user.id);
    (opts.excludeCredentials || []).forEach(function (c) { c.id = fromB64u(c.id); });
    var cred = await navigator.credentials.create({ publicKey: opts });
    var out = common(cred);
    out.response = {
      clientDataJSON: toB64u(cred.response.clientDataJSON),
      attestationObject: toB64u(cred.response.attestationObject)
    };
    if (cred.response.getTransports) out.response.transports = cred.response.getTransports();
    return post(btn.dataset.finish, out);
  }
  function french(e) {
    switch (e && e.name) {
      case "NotAllowedError": return "Opération annulée ou délai dépassé : réessayez.";
      case "InvalidStateError": return "Cette clé d'accès est déjà enregistrée pour ce compte.";
      case "SecurityError": return "Ce site ne peut pas utiliser de clé d'accès à cette adresse.";
      case "NotSupportedError": return "Ce navigateur ne prend pas en charge les clés d'accès.";
    }
    return (e && e.message) || "La demande a échoué.";
  }
  function wire(id, ceremony) {
    var btn = document.getElementById(id);
    if (!btn) return;
    var status = document.getElementById(btn.dataset.status);
    if (!window.PublicKeyCredential) {
      btn.disabled = true;
      if (status) { status.textContent = "Ce navigateur ne prend pas en charge les clés d'accès."; status.hidden = false; }
      return;
    }
    btn.addEventListener("click", async function () {
      btn.disabled = true;
      if (status) status.hidden = true;
      try {
        var res = await ceremony(btn);
        window.location.assign(res.redirect);
      } catch (e) {
        if (status) { status.textContent = french(e); status.hidden = false; }
        btn.disabled = false;
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    wire("passkey-signin", signIn);
    wire("passkey-register", register);
  });
})();
