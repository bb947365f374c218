/// The keywatch version, shown by `--version` and sent in the webhook User-Agent.
public enum KeywatchVersion {
    /// The version string.
    public static let string = "0.1.0"
}
