// 乡才通: a little progressive enhancement; every page works without it.
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="确定要关闭该需求吗？">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // Focus the first field with an error so that keyboard and screen-reader users land on it.
  var invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    invalid.focus();
  }
})();
