/// Errors from the state store (``StateStore``). Each case names the path and says what to do.
///
/// No case ever carries a credential, a key id's raw input or a baseline's bytes: a rejected key is
/// named by its position in the checkpoint.
public enum StoreError: Error, Hashable, CustomStringConvertible {
    /// The state directory could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// The database file could not be created or opened.
    case cannotOpen(path: String, reason: String)
    /// A read-only open found no initialised store.
    case missing(path: String)
    /// The file is not a keywatch state store (not SQLite, another application's database, or damaged).
    case notAStateStore(path: String, reason: String)
    /// The store was written by a newer keywatch whose schema this build does not know.
    case newerSchema(path: String, found: Int, highestSupported: Int)
    /// The store has an older schema and was opened read-only, so it cannot be upgraded.
    case needsUpgrade(path: String, found: Int, current: Int)
    /// The fingerprint secret (in the store or in a legacy `fingerprint.secret` file) is unusable.
    case badSecret(path: String, reason: String)
    /// A legacy `fingerprint.secret` file differs from the secret already in the store.
    case conflictingSecret(path: String, file: String)
    /// A checkpoint held a key, alert or endpoint that must not be stored (for example an id that is
    /// not `k_` and 24 hex digits); nothing of that checkpoint was written.
    case rejectedRecord(path: String, table: String, index: Int, reason: String)
    /// Another process held the database lock for longer than the busy timeout.
    case busy(path: String)
    /// SQLite failed; `code` is SQLite's extended result code.
    case database(path: String, operation: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            "cannot create state directory \(path): \(reason); pass --state DIR with a writable directory"
        case .cannotOpen(let path, let reason):
            "cannot open state store \(path): \(reason); check that the state directory is writable by this user"
        case .missing(let path):
            "no state store at \(path); run `keywatch analyze` with this --state directory first"
        case .notAStateStore(let path, let reason):
            "\(path) is not a usable keywatch state store (\(reason)); restore the state directory from backup, "
                + "or move it away to start afresh (key ids change with a new secret)"
        case .newerSchema(let path, let found, let highest):
            "state store \(path) has schema version \(found), but this keywatch supports up to \(highest); "
                + "upgrade keywatch, or pass --state DIR with another directory"
        case .needsUpgrade(let path, let found, let current):
            "state store \(path) has schema version \(found) (current: \(current)) and was opened read-only; "
                + "run `keywatch analyze` with this --state directory once to upgrade it"
        case .badSecret(let path, let reason):
            "fingerprint secret in \(path) is unusable: \(reason); restore the state directory from backup "
                + "(key ids depend on the secret) or remove it to start a new installation with new key ids"
        case .conflictingSecret(let path, let file):
            "\(file) differs from the fingerprint secret already in \(path); keep the one whose key ids you "
                + "want (remove \(file) to keep the store's, or restore the store from before it was created)"
        case .rejectedRecord(let path, let table, let index, let reason):
            "refused to write \(table) record #\(index) to \(path): \(reason); nothing of this checkpoint was "
                + "written (this is a keywatch bug: please report it)"
        case .busy(let path):
            "state store \(path) is locked by another process; wait for it to finish or stop it, "
                + "or pass --state DIR with another directory"
        case .database(let path, let operation, let code, let message):
            "state store \(path): \(operation) failed: \(message) (SQLite code \(code)); check free disk space "
                + "and permissions, or restore the state directory from backup"
        }
    }
}
