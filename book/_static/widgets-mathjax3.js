/*
 * ipywidgets' HTML manager typesets widget labels and HTML with the MathJax 2 API,
 * MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book serves MathJax 3, which has no
 * Hub, so every widget on a page with math would throw. This gives MathJax 3 that one call.
 * (Added to every page by book/_ext/course_book.py.)
 */
(function () {
  "use strict";
  function install() {
    var mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub) {
      return;
    }
    mathjax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (command) {
          if (!Array.isArray(command) || command[0] !== "Typeset") {
            return;
          }
          var element = command[2];
          var ready = mathjax.startup && mathjax.startup.promise
            ? mathjax.startup.promise
            : Promise.resolve();
          ready.then(function () {
            if (mathjax.typesetPromise) {
              return mathjax.typesetPromise(element ? [element] : undefined);
            }
            return null;
          });
        });
      },
    };
  }
  // MathJax loads deferred: it is in place when DOMContentLoaded fires, and widgets render on
  // the window's load event, which comes later.
  document.addEventListener("DOMContentLoaded", install);
})();
