/// The small text files written next to the logs.
enum SampleDocs {
    /// `networks.csv`: every client range with its country, ASN and operator.
    static func networksCSV() -> String {
        var text = "cidr,country,asn,org\n"
        for range in AddressPlan.ranges {
            text += "\(range.cidr),\(range.country),\(range.asn),\(range.org)\n"
        }
        return text
    }

    /// `README.md` for the sample directory.
    static func readme(config: SimulationConfig) -> String {
        "README placeholder\n"
    }
}
