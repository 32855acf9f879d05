const randomInt = (n: number): number => Math.floor(Math.random() * n);

const ADJECTIVES = ['brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nimble', 'proud', 'quiet', 'rapid', 'sharp', 'tidy', 'vivid', 'witty', 'young', 'zesty'];
const NOUNS = ['badger', 'cedar', 'dingo', 'ember', 'falcon', 'gecko', 'heron', 'ibis', 'jaguar', 'koala', 'lemur', 'marten', 'newt', 'otter', 'panda', 'quokka', 'raven', 'stoat', 'tapir', 'walrus'];

/** A Docker-style `adjective_noun` name that `isTaken` does not report (a numeric suffix when needed). */
export function generateContainerName(isTaken: (name: string) => boolean): string {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomInt(1000)}`;
    if (!isTaken(name)) return name;
  }
  return `devenv_${randomInt(1_000_000)}`;
}
