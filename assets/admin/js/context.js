// The collections, shared by the sidebar and the pages: loaded once after
// sign-in and reloaded after a change.
import { createContext, useContext } from './lib.js';

export const Collections = createContext({ list: [], reload() {} });
export const useCollections = () => useContext(Collections);
