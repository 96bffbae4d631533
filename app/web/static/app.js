// 乡才通: a little progressive enhancement; every page works without it.
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="确定要关闭该需求吗？">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute && form.hasAttribute("data-busy")) {
      busy(form, event);
    }
  });
  // Long work (bulk import): <form data-busy> is sent once; its buttons are disabled and its
  // [data-busy-status] shown, with the seconds spent, until the answer replaces the page.
  function busy(form, event) {
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("aria-busy", "true");
    var buttons = form.querySelectorAll("button, input[type=submit]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
    }
    var status = form.querySelector("[data-busy-status]");
    if (status) {
      status.hidden = false;
    }
    var elapsed = form.querySelector("[data-busy-elapsed]");
    var started = Date.now();
    form.busyTimer = window.setInterval(function () {
      if (elapsed) {
        elapsed.textContent = "（已用时 " + Math.round((Date.now() - started) / 1000) + " 秒）";
      }
    }, 1000);
  }
  // A page restored by the Back button is not busy any more.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    var forms = document.querySelectorAll("form[data-busy][aria-busy='true']");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      window.clearInterval(form.busyTimer);
      form.removeAttribute("aria-busy");
      var buttons = form.querySelectorAll("button, input[type=submit]");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = false;
      }
      var status = form.querySelector("[data-busy-status]");
      if (status) {
        status.hidden = true;
      }
    }
  });
  // Focus the first field with an error so that keyboard and screen-reader users land on it.
  var invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    invalid.focus();
  }
})();
