/// Charts drawn by the server as SVG (no chart service, no script): bars, stacked bars and a
/// timeline. Every text is escaped; each chart has a title and a description for screen readers,
/// and the figures are in the page's tables too.
enum SVGChart {
    static let palette = ["#1f5f99", "#c2571a", "#2e7d32", "#6a1b9a", "#8d6e00", "#ad1457", "#00695c", "#37474f"]

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func bars(title: String, bars: [(label: String, value: Int)]) -> String {
        let width = 640, rowHeight = 28, left = 180
        let height = max(1, bars.count) * rowHeight + 40
        let maxValue = max(1, bars.map(\.value).max() ?? 1)
        var svg = header(title: title, description: bars.map { "\($0.label): \($0.value)" }.joined(separator: ", "), width: width, height: height)
        for (index, bar) in bars.enumerated() {
            let y = 30 + index * rowHeight
            let length = (width - left - 60) * bar.value / maxValue
            svg += "<text x=\"\(left - 8)\" y=\"\(y + 17)\" text-anchor=\"end\">\(escape(bar.label))</text>"
            svg += "<rect x=\"\(left)\" y=\"\(y + 4)\" width=\"\(max(1, length))\" height=\"\(rowHeight - 8)\" fill=\"\(bar.label == "overdue" ? "#b3261e" : palette[0])\"/>"
            svg += "<text x=\"\(left + length + 6)\" y=\"\(y + 17)\">\(bar.value)</text>"
        }
        if bars.isEmpty { svg += "<text x=\"10\" y=\"50\">Nothing to draw.</text>" }
        return svg + "</svg>"
    }

    static func stackedBars(title: String, groups: [(group: String, part: String, value: Int)]) -> String {
        let width = 640, rowHeight = 28, left = 180
        let names = Array(Set(groups.map(\.group))).sorted()
        let parts = Array(Set(groups.map(\.part))).sorted()
        let totals = Dictionary(groups.map { ($0.group, $0.value) }, uniquingKeysWith: +)
        let maxValue = max(1, totals.values.max() ?? 1)
        let height = max(1, names.count) * rowHeight + 60
        var svg = header(title: title, description: groups.map { "\($0.group), \($0.part): \($0.value)" }.joined(separator: "; "), width: width, height: height)
        for (index, name) in names.enumerated() {
            let y = 30 + index * rowHeight
            svg += "<text x=\"\(left - 8)\" y=\"\(y + 17)\" text-anchor=\"end\">\(escape(name))</text>"
            var x = left
            for (partIndex, part) in parts.enumerated() {
                let value = groups.first { $0.group == name && $0.part == part }?.value ?? 0
                guard value > 0 else { continue }
                let length = max(1, (width - left - 60) * value / maxValue)
                svg += "<rect x=\"\(x)\" y=\"\(y + 4)\" width=\"\(length)\" height=\"\(rowHeight - 8)\" fill=\"\(palette[partIndex % palette.count])\"><title>\(escape(part)): \(value)</title></rect>"
                x += length
            }
            svg += "<text x=\"\(x + 6)\" y=\"\(y + 17)\">\(totals[name] ?? 0)</text>"
        }
        // The legend.
        var x = 10
        let legendY = height - 18
        for (partIndex, part) in parts.enumerated() {
            svg += "<rect x=\"\(x)\" y=\"\(legendY - 10)\" width=\"12\" height=\"12\" fill=\"\(palette[partIndex % palette.count])\"/>"
            svg += "<text x=\"\(x + 16)\" y=\"\(legendY)\">\(escape(part))</text>"
            x += 24 + part.count * 8
        }
        if names.isEmpty { svg += "<text x=\"10\" y=\"50\">Nothing to draw.</text>" }
        return svg + "</svg>"
    }

    static func timeline(title: String, points: [(label: String, time: Int64, name: String)]) -> String {
        let width = 640, rowHeight = 24
        let height = max(1, points.count) * rowHeight + 50
        var svg = header(title: title, description: points.map { "\($0.label) \($0.name)" }.joined(separator: "; "), width: width, height: height)
        let times = points.map(\.time)
        let (first, last) = (times.min() ?? 0, times.max() ?? 0)
        let span = max(1, last - first)
        let (left, right) = (20, 300)
        svg += "<line x1=\"\(left)\" y1=\"30\" x2=\"\(left)\" y2=\"\(height - 20)\" stroke=\"#555\"/>"
        for (index, point) in points.enumerated() {
            let y = 40 + index * rowHeight
            let x = left + Int(Double(right - left) * Double(point.time - first) / Double(span))
            svg += "<circle cx=\"\(x)\" cy=\"\(y)\" r=\"6\" fill=\"\(palette[0])\"/>"
            svg += "<text x=\"\(right + 12)\" y=\"\(y + 5)\">\(escape(String(point.label.prefix(16).replacingOccurrences(of: "T", with: " ")))) \(escape(point.name))</text>"
        }
        return svg + "</svg>"
    }

    private static func header(title: String, description: String, width: Int, height: Int) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"13\" fill=\"#1b1b1b\">"
            + "<title id=\"chart-title\">\(escape(title))</title><desc id=\"chart-desc\">\(escape(description))</desc>"
            + "<text x=\"10\" y=\"18\" font-weight=\"bold\">\(escape(title))</text>"
    }
}
