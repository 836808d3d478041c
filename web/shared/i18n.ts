/**
 * Every string a reader sees in the widget and the chat site, per language. English is the
 * reference; a missing key in another language falls back to it. `{n}` is replaced by a number.
 */
const EN = {
  title: 'Ask a question',
  open: 'Open chat',
  close: 'Close chat',
  newChat: 'New chat',
  conversation: 'Conversation',
  question: 'Your question',
  placeholder: 'Ask a question…',
  send: 'Send',
  stop: 'Stop',
  stopped: 'Stopped.',
  thinking: 'Thinking…',
  copy: 'Copy',
  copied: 'Copied',
  sources: 'Sources',
  excerpt: 'Excerpt',
  suggested: 'Suggested questions',
  up: 'Helpful',
  down: 'Not helpful',
  comment: 'What was missing? (optional)',
  thanks: 'Thanks for your feedback.',
  handoff: 'Still stuck? Contact us',
  noAnswer: "I couldn't find an answer to that in these documents.",
  forbidden: 'This chat is not enabled on this website.',
  retrying: "Can't reach the assistant. Retrying…",
  unreachable: "The assistant can't be reached right now. Please try again later.",
  maintenance:
    'The assistant is down for maintenance right now. Please try again in a few minutes.',
  limited: 'Too many questions right now. Please wait {n} seconds and try again.',
  failed: 'Something went wrong while answering. Please try again.',
  dropped: 'The connection dropped. Please ask again.',
};

export type StringKey = keyof typeof EN;
type Table = Partial<Record<StringKey, string>>;

const FR: Table = {
  title: 'Posez une question',
  open: 'Ouvrir le chat',
  close: 'Fermer le chat',
  newChat: 'Nouvelle discussion',
  conversation: 'Conversation',
  question: 'Votre question',
  placeholder: 'Posez une question…',
  send: 'Envoyer',
  stop: 'Arrêter',
  stopped: 'Arrêté.',
  thinking: 'Réflexion…',
  copy: 'Copier',
  copied: 'Copié',
  sources: 'Sources',
  excerpt: 'Extrait',
  suggested: 'Questions suggérées',
  up: 'Utile',
  down: 'Pas utile',
  comment: 'Que manquait-il ? (facultatif)',
  thanks: 'Merci pour votre avis.',
  handoff: 'Toujours bloqué ? Contactez-nous',
  noAnswer: 'Je n’ai pas trouvé de réponse à cela dans ces documents.',
  forbidden: 'Ce chat n’est pas activé sur ce site.',
  retrying: 'Assistant injoignable. Nouvel essai…',
  unreachable: 'L’assistant est injoignable pour le moment. Réessayez plus tard.',
  maintenance: 'L’assistant est en maintenance. Réessayez dans quelques minutes.',
  limited: 'Trop de questions. Attendez {n} secondes puis réessayez.',
  failed: 'Une erreur est survenue. Veuillez réessayer.',
  dropped: 'La connexion a été coupée. Posez la question à nouveau.',
};

const ES: Table = {
  title: 'Haz una pregunta',
  open: 'Abrir el chat',
  close: 'Cerrar el chat',
  newChat: 'Nuevo chat',
  conversation: 'Conversación',
  question: 'Tu pregunta',
  placeholder: 'Haz una pregunta…',
  send: 'Enviar',
  stop: 'Detener',
  stopped: 'Detenido.',
  thinking: 'Pensando…',
  copy: 'Copiar',
  copied: 'Copiado',
  sources: 'Fuentes',
  excerpt: 'Extracto',
  suggested: 'Preguntas sugeridas',
  up: 'Útil',
  down: 'No es útil',
  comment: '¿Qué faltaba? (opcional)',
  thanks: 'Gracias por tu opinión.',
  handoff: '¿Sigues con dudas? Contáctanos',
  noAnswer: 'No encontré una respuesta a eso en estos documentos.',
  forbidden: 'Este chat no está activado en este sitio web.',
  retrying: 'No se puede contactar con el asistente. Reintentando…',
  unreachable: 'El asistente no está disponible ahora. Inténtalo más tarde.',
  maintenance: 'El asistente está en mantenimiento. Inténtalo en unos minutos.',
  limited: 'Demasiadas preguntas. Espera {n} segundos e inténtalo de nuevo.',
  failed: 'Algo salió mal al responder. Inténtalo de nuevo.',
  dropped: 'Se cortó la conexión. Vuelve a preguntar.',
};

const AR: Table = {
  title: 'اطرح سؤالاً',
  open: 'افتح المحادثة',
  close: 'أغلق المحادثة',
  newChat: 'محادثة جديدة',
  conversation: 'المحادثة',
  question: 'سؤالك',
  placeholder: 'اطرح سؤالاً…',
  send: 'إرسال',
  stop: 'إيقاف',
  stopped: 'توقّف.',
  thinking: 'جارٍ التفكير…',
  copy: 'نسخ',
  copied: 'تم النسخ',
  sources: 'المصادر',
  excerpt: 'مقتطف',
  suggested: 'أسئلة مقترحة',
  up: 'مفيد',
  down: 'غير مفيد',
  comment: 'ما الذي كان ناقصاً؟ (اختياري)',
  thanks: 'شكراً لملاحظاتك.',
  handoff: 'ما زلت بحاجة إلى مساعدة؟ تواصل معنا',
  noAnswer: 'لم أجد إجابة عن ذلك في هذه المستندات.',
  forbidden: 'هذه المحادثة غير مفعّلة على هذا الموقع.',
  retrying: 'تعذّر الوصول إلى المساعد. جارٍ إعادة المحاولة…',
  unreachable: 'لا يمكن الوصول إلى المساعد الآن. حاول لاحقاً.',
  maintenance: 'المساعد متوقف للصيانة الآن. حاول بعد دقائق.',
  limited: 'أسئلة كثيرة جداً. انتظر {n} ثانية ثم حاول مجدداً.',
  failed: 'حدث خطأ أثناء الإجابة. حاول مجدداً.',
  dropped: 'انقطع الاتصال. اطرح السؤال مجدداً.',
};

const TABLES: Record<string, Table> = { en: EN, fr: FR, es: ES, ar: AR };
const RTL = /^(ar|he|fa|ur|ps|yi)\b/;

/** The reader's language: the first candidate whose primary tag we have, else English. */
export function pickLang(candidates: ReadonlyArray<string | null | undefined>): string {
  for (const tag of candidates) {
    const primary = tag?.toLowerCase().split('-')[0];
    if (primary && primary in TABLES) return primary;
  }
  return 'en';
}

/** Whether a language is written right to left (by its primary tag). */
export function isRtl(lang: string): boolean {
  return RTL.test(lang.toLowerCase());
}

/** The words for `key` in `lang` (English when missing), with `{n}` replaced. */
export function t(lang: string, key: StringKey, n?: number): string {
  const text = TABLES[lang]?.[key] ?? EN[key];
  return n === undefined ? text : text.replace('{n}', String(n));
}

/** The chat site's own words (its landing page), apart so the widget does not carry them. */
const SITE_EN = {
  landing: 'Ask the docs',
  about:
    'This page answers questions about a website’s documents, with the sources it used. Each site has its own chat.',
  how: 'To open a site’s chat, use the link its owner gives you: /s/<site>?key=<public key>. On the site itself, look for the chat button in a corner of the page.',
  share: 'Copy link',
};

export type SiteKey = keyof typeof SITE_EN;

const SITE: Record<string, Partial<Record<SiteKey, string>>> = {
  en: SITE_EN,
  fr: {
    share: 'Copier le lien',
    landing: 'Interrogez la documentation',
    about:
      'Cette page répond aux questions sur les documents d’un site web, avec les sources utilisées. Chaque site a son propre chat.',
    how: 'Pour ouvrir le chat d’un site, utilisez le lien que son propriétaire vous donne : /s/<site>?key=<clé publique>. Sur le site lui-même, cherchez le bouton de chat dans un coin de la page.',
  },
  es: {
    share: 'Copiar enlace',
    landing: 'Pregunta a la documentación',
    about:
      'Esta página responde preguntas sobre los documentos de un sitio web, con las fuentes que usó. Cada sitio tiene su propio chat.',
    how: 'Para abrir el chat de un sitio, usa el enlace que te da su propietario: /s/<sitio>?key=<clave pública>. En el propio sitio, busca el botón de chat en una esquina de la página.',
  },
  ar: { share: 'نسخ الرابط', landing: 'اسأل المستندات' },
};

/** The chat site's words for `key` in `lang` (English when missing). */
export function siteText(lang: string, key: SiteKey): string {
  return SITE[lang]?.[key] ?? SITE_EN[key];
}
