// The testbed's single-page app: everything it shows comes from core and
// events, fetched through the gateway (/api/core/..., /api/events/...).
var VERSION = "@VERSION@";
document.getElementById("app").textContent = @TITLE@;

function show(id, text) { document.getElementById(id).textContent = text; }

function answer(r) {
  return r.text().then(function (body) {
    var data = null;
    try { data = JSON.parse(body); } catch (e) { data = null; }
    if (!r.ok || !data || data.success !== true) {
      throw new Error((data && data.message) || ("HTTP " + r.status));
    }
    return data;
  });
}

function get(path) { return fetch(path).then(answer); }
function post(path, form) { return fetch(path, {method: "POST", body: new URLSearchParams(form)}).then(answer); }
function failed(id, what) {
  return function (e) { show(id, what + " failed: " + e.message); console.error(what + " failed: " + e.message); };
}

["core", "events"].forEach(function (svc) {
  get("/api/" + svc + "/healthcheck")
    .then(function (d) { show(svc + "-status", svc + " " + d.data.version); })
    .catch(failed(svc + "-status", svc));
});

function list(id, path) {
  get(path).then(function (d) {
    var ul = document.getElementById(id);
    d.data.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item.name;
      ul.appendChild(li);
    });
    ul.setAttribute("data-loaded", "yes");
  }).catch(failed(id, "loading " + id));
}
list("bodies", "/api/core/bodies.json");
list("events", "/api/events/events.json");

document.getElementById("login").addEventListener("submit", function (ev) {
  ev.preventDefault();
  post("/api/core/cgi-bin/login", new FormData(ev.target))
    .then(function (d) {
      show("who", "Logged in as " + d.data.name);
      document.getElementById("register").hidden = false;
    })
    .catch(failed("who", "Login"));
});

document.getElementById("register").addEventListener("click", function () {
  post("/api/events/cgi-bin/register", {event: "su"})
    .then(function (d) { show("registered", "Registered (" + d.data.count + ")"); })
    .catch(failed("registered", "Registration"));
});
