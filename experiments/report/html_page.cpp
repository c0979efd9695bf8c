#include "experiments/report/html_page.h"

#include <fmt/format.h>

namespace ecg::report {
namespace {

constexpr const char* kStyle = R"(body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left}
th{background:#eee}figure{margin:2em 0}img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.92em;color:#333}.note{color:#8a4b00})";

// Counts the images that decoded (complete and with a width) once everything has loaded.
constexpr const char* kScript = R"(window.addEventListener('load', function () {
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) if (images[i].complete && images[i].naturalWidth > 0) loaded++;
  document.body.setAttribute('data-images-loaded', loaded + '/' + images.length);
});)";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_page(const PageContent& c) {
  std::string inputs;
  for (const auto& i : c.inputs) inputs += (inputs.empty() ? "" : ", ") + ("<code>" + html_escape(i) + "</code>");
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n"
      "<style>\n{style}\n</style>\n<script>\n{script}\n</script>\n</head>\n<body>\n<h1>{title}</h1>\n"
      "<p>{runs} finished run(s) found under {inputs}.</p>\n<h2>Results</h2>\n{table}<p>{note}</p>\n",
      fmt::arg("title", html_escape(c.title)), fmt::arg("style", kStyle), fmt::arg("script", kScript),
      fmt::arg("runs", c.runs), fmt::arg("inputs", inputs), fmt::arg("table", c.table_html),
      fmt::arg("note", html_escape(c.table_note)));
  out += "<h2>Figures</h2>\n";
  for (const Figure& f : c.figures) {
    const std::string b = html_escape(f.base);
    out += fmt::format(
        "<figure id=\"{b}\">\n<img src=\"{b}.png\" alt=\"{title}\" width=\"900\" height=\"600\">\n"
        "<figcaption><strong>{title}.</strong> {caption} <a href=\"{b}.svg\">SVG</a> · "
        "<a href=\"{b}.csv\">data (CSV)</a> · <a href=\"{b}.gp\">gnuplot script</a></figcaption>\n</figure>\n",
        fmt::arg("b", b), fmt::arg("title", html_escape(f.title)), fmt::arg("caption", html_escape(f.caption)));
  }
  if (c.figures.empty()) out += "<p class=\"note\">No figure could be drawn from these runs.</p>\n";
  if (!c.notes.empty()) {
    out += "<h2>Figures not drawn</h2>\n<ul>\n";
    for (const auto& n : c.notes) out += "<li class=\"note\">" + html_escape(n) + "</li>\n";
    out += "</ul>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace ecg::report
