// index.html of `ecgdist report`: one self-contained page (inline style and script, no external
// resource) with the results table and every figure's PNG, linking its SVG, CSV and gnuplot
// script. A tiny script records on <body> how many images loaded (data-images-loaded="N/M"),
// which the headless-browser test reads.
#pragma once

#include <string>
#include <vector>

#include "experiments/report/figures.h"

namespace ecg::report {

struct PageContent {
  std::string title;
  std::vector<std::string> inputs;  // the folders searched
  int runs = 0;                     // finished runs found
  std::string table_html;           // results_table.h
  std::string table_note;           // how the table's cells read
  std::vector<Figure> figures;
  std::vector<std::string> notes;  // figures skipped and why
};

std::string html_escape(const std::string& text);
std::string html_page(const PageContent& content);

}  // namespace ecg::report
