// getBuiltinModule, not import: start-up time (src/cli/colour.ts says why).
const { constants } = process.getBuiltinModule('node:fs');

/**
 * open(2) flags for the files oep writes under OEP_HOME: never through a symbolic link
 * (O_NOFOLLOW: a link where a log or record should be fails with ELOOP instead of writing, or
 * chmod'ing, whatever it points at). Numbers, as fs.open, fs.openSync, fs.appendFile and
 * fs.createWriteStream all take them. (Only the last component: the folders on the way are oep's
 * own, private, in a home that src/state/home-check.ts checked.)
 */
const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_TRUNC, O_WRONLY } = constants;

/** Append, creating the file: logs. */
export const APPEND_NOFOLLOW = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW;
/** Replace the content, creating the file: small files written whole. */
export const REPLACE_NOFOLLOW = O_WRONLY | O_TRUNC | O_CREAT | O_NOFOLLOW;
/** A new file only (a temporary file before its rename): fails if anything, link or not, is there. */
export const CREATE_NEW = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
/** Write into an existing file, never creating one: truncation in place (log rotation). */
export const WRITE_EXISTING_NOFOLLOW = O_WRONLY | O_NOFOLLOW;
