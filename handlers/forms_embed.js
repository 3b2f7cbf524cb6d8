/* Priyom: <script src="https://bot.example.com/forms/embed.js" defer></script>
   Posts every <form data-priyom> to /forms/lead on the server that served this script, with
   the page's UTM parameters (kept for the visit) and a submission id (a retry keeps it). */
(function () {
  var script = document.currentScript;
  var endpoint = new URL("/forms/lead", script.src).href;
  var UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
  var params = new URLSearchParams(window.location.search);
  var utm = {};
  try { utm = JSON.parse(sessionStorage.getItem("priyom_utm") || "{}"); } catch (e) { utm = {}; }
  UTM.forEach(function (k) { if (params.get(k)) { utm[k] = params.get(k); } });
  try { sessionStorage.setItem("priyom_utm", JSON.stringify(utm)); } catch (e) { /* private mode */ }

  function id() {
    return (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function attach(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      Object.keys(utm).forEach(function (k) { body.set(k, utm[k]); });
      form.dataset.priyomId = form.dataset.priyomId || id();
      body.set("submission_id", form.dataset.priyomId);
      var box = form.querySelector("[data-priyom-result]");
      fetch(endpoint, { method: "POST", body: body }) /* urlencoded: no CORS preflight */
        .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
        .then(function (res) {
          if (res[0]) { form.reset(); delete form.dataset.priyomId; }
          if (box) { box.textContent = res[0] ? (form.dataset.priyomOk || "Спасибо! Мы скоро свяжемся с вами.") : res[1].error; }
        })
        .catch(function () { if (box) { box.textContent = "Не отправилось, попробуйте ещё раз."; } });
    });
  }

  function init() { document.querySelectorAll("form[data-priyom]").forEach(attach); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
