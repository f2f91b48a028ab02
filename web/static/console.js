// The console's only script of its own: every htmx request carries the session's CSRF token.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});

// Deadlines count down: every <time class="countdown"> shows the time left (or overdue) beside
// the deadline the server wrote, refreshed each second; without script the deadline stays.
function showCountdowns() {
  document.querySelectorAll("time.countdown").forEach(function (element) {
    var due = Date.parse(element.getAttribute("datetime"));
    if (!element.dataset.deadline) {
      element.dataset.deadline = element.textContent;
    }
    var seconds = Math.round((due - Date.now()) / 1000);
    var span = Math.abs(seconds);
    var text = Math.floor(span / 3600) + ":" +
      String(Math.floor((span % 3600) / 60)).padStart(2, "0") + ":" +
      String(span % 60).padStart(2, "0");
    var label = seconds >= 0 ? text + " " + element.dataset.left : element.dataset.overdue + " " + text;
    element.textContent = element.dataset.deadline + " · " + label;
  });
}
document.addEventListener("DOMContentLoaded", function () {
  showCountdowns();
  setInterval(showCountdowns, 1000);
});
document.addEventListener("htmx:afterSwap", showCountdowns);
