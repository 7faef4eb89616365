import HTTPWire

/// Columns padded to their widest cell, two spaces apart, for the client commands' default output.
///
/// Plain text with no box drawing, like `kubectl get` and `consul catalog`: it reads in a terminal
/// and still splits on whitespace in a pinch (`--json` is the format for scripts).
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) { self.header = header }

    mutating func append(_ row: [String]) { rows.append(row) }

    var rendered: String {
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() where column < widths.count {
                widths[column] = max(widths[column], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (column, cell) in cells.enumerated() {
                if column == cells.count - 1 {
                    text += cell
                } else {
                    text += cell + String(repeating: " ", count: widths[column] - cell.count + 2)
                }
            }
            return text + "\n"
        }
        return ([header] + rows).map(line).joined()
    }
}

/// A JSON scalar as a table cell: a number as the server wrote it (`27.318`), a string as is, `-` when absent.
func cell(_ value: JSONValue?) -> String {
    switch value {
    case .number(let number)?: number.literal
    case .string(let text)?: text
    case .bool(let flag)?: String(flag)
    case nil, .null?: "-"
    case let other?: other.jsonText
    }
}
