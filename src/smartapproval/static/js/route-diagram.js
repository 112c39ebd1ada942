/*
 * Draw a stored review route (BPMN 2.0) with the vendored bpmn-js viewer.
 *
 * The page embeds the XML, the human tasks and the translated labels with
 * Django's json_script; every text put on the diagram is set as text, never
 * as HTML, since it comes from an uploaded file. Human tasks are highlighted
 * and carry a badge with their department role and time limit; clicking a
 * row of the task table brings its task into view.
 */
(function () {
  "use strict";

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function showNote(container, text, detail) {
    var note = document.createElement("p");
    note.className = "route-diagram-note errornote";
    note.textContent = detail ? text + " " + detail : text;
    container.replaceChildren(note);
    container.style.height = "auto";
    container.dataset.rendered = "false";
  }

  function badge(task) {
    var parts = [task.role, task.limit].filter(Boolean);
    if (!parts.length) {
      return null;
    }
    var element = document.createElement("div");
    element.className = "route-task-badge";
    element.textContent = parts.join(" · ");
    element.title = [task.name, task.role, task.department, task.limit]
      .filter(Boolean)
      .join(" · ");
    return element;
  }

  function decorate(viewer, tasks) {
    var canvas = viewer.get("canvas");
    var overlays = viewer.get("overlays");
    var registry = viewer.get("elementRegistry");

    tasks.forEach(function (task) {
      var element = registry.get(task.id);
      if (!element) {
        return;
      }
      canvas.addMarker(element, "route-user-task");
      var html = badge(task);
      if (html) {
        overlays.add(element, "route-task", {
          position: { bottom: 2, left: 0 },
          html: html,
        });
      }
    });
  }

  function focusOnClick(viewer) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var focused = null;

    document.querySelectorAll("tr[data-task-id]").forEach(function (row) {
      row.addEventListener("click", function () {
        var element = registry.get(row.dataset.taskId);
        if (!element) {
          return;
        }
        if (focused) {
          canvas.removeMarker(focused, "route-task-focus");
        }
        // A task inside a collapsed sub-process is drawn on its own plane.
        var root = canvas.findRoot(element);
        if (root && root !== canvas.getRootElement()) {
          canvas.setRootElement(root);
        }
        canvas.addMarker(element, "route-task-focus");
        canvas.scrollToElement(element);
        focused = element;
        document.getElementById("route-diagram").scrollIntoView({
          behavior: "smooth",
          block: "nearest",
        });
      });
    });
  }

  function draw() {
    var container = document.getElementById("route-diagram");
    if (!container) {
      return;
    }
    var xml = readJson("route-diagram-xml");
    var tasks = readJson("route-diagram-tasks") || [];
    var labels = readJson("route-diagram-labels") || {};
    if (typeof window.BpmnJS === "undefined") {
      showNote(container, labels.failed || "", "bpmn-js");
      return;
    }

    var viewer = new window.BpmnJS({ container: container });
    viewer
      .importXML(xml)
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport", "auto");
        decorate(viewer, tasks);
        focusOnClick(viewer);
        container.dataset.rendered = "true";
      })
      .catch(function (error) {
        viewer.destroy();
        if (/no diagram to display/i.test(String(error && error.message))) {
          showNote(container, labels.no_diagram || "");
        } else {
          showNote(container, labels.failed || "", error && error.message);
        }
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
